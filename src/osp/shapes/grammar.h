#pragma once
// The Shapes domain's attributes, caption grammar and train / held-out split (docs/training-data.md):
// shared by the dataset generator, the evaluator and the tokenizer corpus, so they agree on words,
// palette and which combinations training never sees.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "osp/shapes/random.h"

namespace osp::shapes {

enum class Shape { kCircle, kSquare, kTriangle, kDiamond };
enum class Color { kRed, kGreen, kBlue, kYellow, kCyan, kMagenta, kWhite, kBlack };
enum class Motion { kLeft, kRight, kUp, kDown, kGrowing, kShrinking };

constexpr int kShapeCount = 4, kColorCount = 8, kMotionCount = 6;

// One clip's captioned content. The background is a palette colour different from the object's.
struct ShapeAttributes {
  Shape shape = Shape::kCircle;
  Color color = Color::kRed;
  Color background = Color::kBlack;
  Motion motion = Motion::kRight;
  bool operator==(const ShapeAttributes& o) const {
    return shape == o.shape && color == o.color && background == o.background && motion == o.motion;
  }
  bool operator!=(const ShapeAttributes& o) const { return !(*this == o); }
};

struct Rgb {
  uint8_t r, g, b;
};

// The words of the grammar ("circle", "red", "moving left", …) and their inverses (nullopt for
// an unknown word). Motion words are the caption phrase: "moving left", …, "growing", "shrinking".
std::string shape_name(Shape shape);
std::string color_name(Color color);
std::string motion_name(Motion motion);
std::optional<Shape> shape_from_name(const std::string& name);
std::optional<Color> color_from_name(const std::string& name);
std::optional<Motion> motion_from_name(const std::string& name);

// The palette: the 8 corners of the RGB cube pulled in to 24 / 232, so that every pair of colours
// differs by 208 in at least one channel and a classifier by nearest colour has a wide margin.
Rgb color_rgb(Color color);
// The palette colour nearest (Euclidean, in RGB 0–255) to a measured colour.
Color nearest_color(double r, double g, double b);

// Moving motions have a unit direction in image coordinates (x right, y down); growing and
// shrinking have none (dx = dy = 0) and a size change instead.
bool is_translation(Motion motion);
void motion_direction(Motion motion, int& dx, int& dy);

// "a red circle moving left on a black background"; "a blue square growing on a white background".
std::string caption_for(const ShapeAttributes& attributes);
// The attributes of a caption of this grammar (exactly as caption_for writes it, surrounding
// whitespace ignored); nullopt for any other text.
std::optional<ShapeAttributes> parse_caption(const std::string& caption);

// The held-out (object colour, background, motion) combinations — any shape: 24 fixed triples, for
// colour index i = 0..7 and k = 0..2: background (i + 1 + 3k) mod 8, motion (3i + k) mod 6 (enum
// order). Each colour, background appears 3 times, each motion 4 times; every pair of attributes
// still occurs in training with other third attributes. The list is in docs/training-data.md.
const std::vector<ShapeAttributes>& heldout_combinations();  // shape field: kCircle (ignored)
bool is_heldout(const ShapeAttributes& attributes);

enum class Split { kTrain, kHeldout, kAll };
Split split_from_name(const std::string& name);  // "train", "heldout", "all"; osp::Error otherwise
std::string split_name(Split split);

// Uniform over the split's combinations (shape uniform; background ≠ colour). Train rejects
// held-out triples, held-out draws from heldout_combinations().
ShapeAttributes sample_attributes(ShapesRandom& rng, Split split);

// Every caption of the grammar (all shapes × colours × backgrounds × motions), in enum order:
// the corpus for the tokenizer, and the test that the grammar is unambiguous.
std::vector<std::string> all_captions();

}  // namespace osp::shapes
