#pragma once
// How far a measured clip lies from each decision the evaluator takes (docs/shapes.md "Margins"):
// per attribute, a signed margin in the units of that decision, positive when the measurement
// names the captioned value and growing with how clearly it does, negative when it names another
// value or nothing. The 0/1 check of check_attributes() is the sign of the margin (ties aside);
// the margin adds how close a wrong clip came and how clear a right one is, which is what a graded
// reward needs (docs/rl.md "Rewards").
//
//   colour, background: distance (RGB 0–255) from the measured colour to the nearest other palette
//                       colour minus its distance to the captioned one (nearest-colour decision);
//   shape:              the smallest slack among the threshold tests that classify_shape() must pass
//                       for the captioned shape (moment units);
//   motion:             the smallest slack among the tests that classify_motion() must pass for the
//                       captioned motion (object sizes for translations, |ln area ratio| for scale).
// Without an object (or without a measured frame, or fewer than 2 tracked frames) the margin of
// colour / shape / motion is −∞.
#include "osp/shapes/grammar.h"
#include "osp/shapes/measure.h"

namespace osp::shapes {

struct AttributeMargins {
  double color = 0, shape = 0, background = 0, motion = 0;
};

// The signed distance of an RGB 0–255 colour to the nearest-colour boundary around `expected`.
double color_margin(const std::array<double, 3>& rgb, Color expected);
double shape_margin(const ShapeFit& fit, Shape expected, const ShapeMeasureOptions& options);
double motion_margin(const MotionFit& fit, Motion expected, double min_score);

AttributeMargins attribute_margins(const ShapeAttributes& expected, const ClipMeasurement& measured,
                                   const MeasureOptions& options = {});

}  // namespace osp::shapes
