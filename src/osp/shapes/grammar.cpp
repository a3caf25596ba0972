#include "osp/shapes/grammar.h"

#include <sstream>

#include "osp/core/error.h"

namespace osp::shapes {
namespace {

constexpr std::array<const char*, kShapeCount> kShapeNames{"circle", "square", "triangle", "diamond"};
constexpr std::array<const char*, kColorCount> kColorNames{"red",  "green",   "blue",  "yellow",
                                                           "cyan", "magenta", "white", "black"};
constexpr std::array<const char*, kMotionCount> kMotionNames{"moving left", "moving right", "moving up",
                                                             "moving down", "growing",      "shrinking"};

constexpr uint8_t kLo = 24, kHi = 232;
constexpr std::array<Rgb, kColorCount> kPalette{{{kHi, kLo, kLo},
                                                 {kLo, kHi, kLo},
                                                 {kLo, kLo, kHi},
                                                 {kHi, kHi, kLo},
                                                 {kLo, kHi, kHi},
                                                 {kHi, kLo, kHi},
                                                 {kHi, kHi, kHi},
                                                 {kLo, kLo, kLo}}};

template <typename Enum, size_t N>
std::optional<Enum> from_name(const std::array<const char*, N>& names, const std::string& name) {
  for (size_t i = 0; i < N; ++i) {
    if (name == names[i]) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

std::vector<ShapeAttributes> make_heldout() {
  std::vector<ShapeAttributes> list;
  for (int i = 0; i < kColorCount; ++i) {
    for (int k = 0; k < 3; ++k) {
      ShapeAttributes a;
      a.color = static_cast<Color>(i);
      a.background = static_cast<Color>((i + 1 + 3 * k) % kColorCount);
      a.motion = static_cast<Motion>((3 * i + k) % kMotionCount);
      list.push_back(a);
    }
  }
  return list;
}

std::vector<std::string> split_words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

}  // namespace

std::string shape_name(Shape shape) { return kShapeNames.at(static_cast<size_t>(shape)); }
std::string color_name(Color color) { return kColorNames.at(static_cast<size_t>(color)); }
std::string motion_name(Motion motion) { return kMotionNames.at(static_cast<size_t>(motion)); }
std::optional<Shape> shape_from_name(const std::string& name) { return from_name<Shape>(kShapeNames, name); }
std::optional<Color> color_from_name(const std::string& name) { return from_name<Color>(kColorNames, name); }
std::optional<Motion> motion_from_name(const std::string& name) { return from_name<Motion>(kMotionNames, name); }

Rgb color_rgb(Color color) { return kPalette.at(static_cast<size_t>(color)); }

Color nearest_color(double r, double g, double b) {
  Color best = Color::kRed;
  double best_d = 1e300;
  for (int i = 0; i < kColorCount; ++i) {
    const Rgb p = kPalette[static_cast<size_t>(i)];
    const double d = (r - p.r) * (r - p.r) + (g - p.g) * (g - p.g) + (b - p.b) * (b - p.b);
    if (d < best_d) best_d = d, best = static_cast<Color>(i);
  }
  return best;
}

bool is_translation(Motion motion) { return motion != Motion::kGrowing && motion != Motion::kShrinking; }

void motion_direction(Motion motion, int& dx, int& dy) {
  dx = motion == Motion::kRight ? 1 : motion == Motion::kLeft ? -1 : 0;
  dy = motion == Motion::kDown ? 1 : motion == Motion::kUp ? -1 : 0;
}

std::string caption_for(const ShapeAttributes& a) {
  return "a " + color_name(a.color) + " " + shape_name(a.shape) + " " + motion_name(a.motion) + " on a " +
         color_name(a.background) + " background";
}

std::optional<ShapeAttributes> parse_caption(const std::string& caption) {
  // a <colour> <shape> [moving] <motion> on a <background> background
  std::vector<std::string> w = split_words(caption);
  if (w.size() == 8) w.insert(w.begin() + 3, "");  // growing / shrinking: no "moving"
  if (w.size() != 9 || w[0] != "a" || w[5] != "on" || w[6] != "a" || w[8] != "background") return std::nullopt;
  const auto color = color_from_name(w[1]);
  const auto shape = shape_from_name(w[2]);
  const auto motion = motion_from_name(w[3].empty() ? w[4] : w[3] + " " + w[4]);
  const auto background = color_from_name(w[7]);
  if (!color || !shape || !motion || !background || *color == *background) return std::nullopt;
  return ShapeAttributes{*shape, *color, *background, *motion};
}

const std::vector<ShapeAttributes>& heldout_combinations() {
  static const std::vector<ShapeAttributes> list = make_heldout();
  return list;
}

bool is_heldout(const ShapeAttributes& a) {
  for (const ShapeAttributes& h : heldout_combinations()) {
    if (h.color == a.color && h.background == a.background && h.motion == a.motion) return true;
  }
  return false;
}

Split split_from_name(const std::string& name) {
  if (name == "train") return Split::kTrain;
  if (name == "heldout") return Split::kHeldout;
  if (name == "all") return Split::kAll;
  fail_about("--split", "expected train, heldout or all, got '{}'", name);
}

std::string split_name(Split split) {
  return split == Split::kTrain ? "train" : split == Split::kHeldout ? "heldout" : "all";
}

ShapeAttributes sample_attributes(ShapesRandom& rng, Split split) {
  ShapeAttributes a;
  a.shape = static_cast<Shape>(rng.below(kShapeCount));
  if (split == Split::kHeldout) {
    const auto& list = heldout_combinations();
    const ShapeAttributes& h = list[static_cast<size_t>(rng.below(static_cast<int64_t>(list.size())))];
    a.color = h.color, a.background = h.background, a.motion = h.motion;
    return a;
  }
  do {
    a.color = static_cast<Color>(rng.below(kColorCount));
    // Background uniform over the other 7 colours.
    a.background = static_cast<Color>((static_cast<int>(a.color) + 1 + rng.below(kColorCount - 1)) % kColorCount);
    a.motion = static_cast<Motion>(rng.below(kMotionCount));
  } while (split == Split::kTrain && is_heldout(a));
  return a;
}

std::vector<std::string> all_captions() {
  std::vector<std::string> captions;
  for (int s = 0; s < kShapeCount; ++s) {
    for (int c = 0; c < kColorCount; ++c) {
      for (int b = 0; b < kColorCount; ++b) {
        if (b == c) continue;
        for (int m = 0; m < kMotionCount; ++m) {
          captions.push_back(caption_for({static_cast<Shape>(s), static_cast<Color>(c), static_cast<Color>(b),
                                          static_cast<Motion>(m)}));
        }
      }
    }
  }
  return captions;
}

}  // namespace osp::shapes
