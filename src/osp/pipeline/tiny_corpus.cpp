#include "osp/pipeline/tiny_corpus.h"

#include <fmt/format.h>

#include <iterator>

namespace osp::pipeline {
namespace {

const char* const kColours[] = {"red", "green", "blue", "yellow", "white", "orange", "purple", "pink", "cyan", "grey"};
const char* const kShapes[] = {"circle", "square", "triangle", "star", "ball", "cube", "ring", "rectangle"};
const char* const kMotions[] = {"moving left", "moving right", "moving up", "moving down", "rotating slowly",
                                "bouncing", "growing", "shrinking", "spinning fast", "standing still"};
const char* const kBackgrounds[] = {"a black background", "a white background", "a grey background",
                                    "a blue sky", "green grass", "a wooden table", "a dark room"};

// Scene words for general captions "a <adjective> <subject> <action> <place>".
const char* const kAdjectives[] = {"small", "large", "tiny", "huge", "bright", "dark", "shiny", "soft", "old", "young",
                                   "happy", "quiet", "beautiful", "colorful", "golden", "silver", "wooden", "wet"};
const char* const kSubjects[] = {"horse", "bird", "fish", "tree", "house", "robot", "girl", "boy", "rabbit", "butterfly",
                                 "airplane", "balloon", "candle", "leaf", "cloud", "moon", "sun", "kite", "turtle",
                                 "elephant", "lion", "monkey", "penguin", "dragon"};
const char* const kActions[] = {"walking", "jumping", "flying", "swimming", "dancing", "falling", "floating",
                                "sleeping", "eating", "looking around", "playing", "turning around", "shaking",
                                "glowing", "melting", "waving"};
const char* const kPlaces[] = {"in the forest", "on the beach", "in the city", "under the sea", "in a field",
                               "on a mountain", "at night", "in the rain", "in the snow", "in space", "in a kitchen",
                               "near a lake", "on the road", "in the desert", "by the window", "in a park"};

// General captions: the words that prompts outside the shapes domain use most.
const char* const kGeneral[] = {
    "a cat sitting on a sofa in the living room",
    "a dog running across a field in the sun",
    "a woman walking through a forest at dawn",
    "a man riding a bicycle along the river",
    "waves crashing on the beach at sunset",
    "a car driving down a city street at night",
    "birds flying over the mountains under a cloudy sky",
    "a child playing with a small ball in the garden",
    "rain falling on the window of a quiet house",
    "a boat floating on a calm lake in the morning",
    "people dancing in a bright room with colorful lights",
    "a close up of a flower opening in the spring",
    "smoke rising from a fire in the snow",
    "a train crossing a bridge over a deep valley",
    "the camera slowly zooms in on an old clock",
    "a high quality video, smooth motion, detailed, realistic",
    "low quality, blurry, static, worst quality, distorted",
};

}  // namespace

const std::vector<std::string>& tiny_caption_corpus() {
  static const std::vector<std::string> corpus = [] {
    std::vector<std::string> lines;
    const size_t colours = std::size(kColours), shapes = std::size(kShapes);
    const size_t motions = std::size(kMotions), backgrounds = std::size(kBackgrounds);
    // Every colour-shape pair once, with motion and background cycling at coprime strides so
    // that every word meets many others.
    for (size_t c = 0; c < colours; ++c) {
      for (size_t s = 0; s < shapes; ++s) {
        const size_t i = c * shapes + s;
        lines.push_back(fmt::format("a {} {} {} on {}", kColours[c], kShapes[s], kMotions[(i * 3) % motions],
                                    kBackgrounds[(i * 5 + c) % backgrounds]));
      }
    }
    for (size_t i = 0; i < colours; ++i) {
      lines.push_back(fmt::format("two {} {}s and a {} {} {} together on {}", kColours[i], kShapes[i % shapes],
                                  kColours[(i + 3) % colours], kShapes[(i + 5) % shapes], kMotions[(i * 7) % motions],
                                  kBackgrounds[i % backgrounds]));
    }
    const size_t adjectives = std::size(kAdjectives), subjects = std::size(kSubjects);
    for (size_t i = 0; i < 3 * subjects; ++i) {
      lines.push_back(fmt::format("a {} {} {} {}", kAdjectives[i % adjectives], kSubjects[i % subjects],
                                  kActions[(i * 5) % std::size(kActions)], kPlaces[(i * 7) % std::size(kPlaces)]));
    }
    lines.insert(lines.end(), std::begin(kGeneral), std::end(kGeneral));
    return lines;
  }();
  return corpus;
}

}  // namespace osp::pipeline
