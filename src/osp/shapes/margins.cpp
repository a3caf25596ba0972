#include "osp/shapes/margins.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace osp::shapes {

namespace {

constexpr double kNone = -std::numeric_limits<double>::infinity();

double distance_to(const std::array<double, 3>& rgb, Color color) {
  const Rgb c = color_rgb(color);
  return std::hypot(rgb[0] - c.r, rgb[1] - c.g, rgb[2] - c.b);
}

}  // namespace

double color_margin(const std::array<double, 3>& rgb, Color expected) {
  double nearest_other = std::numeric_limits<double>::infinity();
  for (int i = 0; i < kColorCount; ++i) {
    const auto other = static_cast<Color>(i);
    if (other != expected) nearest_other = std::min(nearest_other, distance_to(rgb, other));
  }
  return nearest_other - distance_to(rgb, expected);
}

double shape_margin(const ShapeFit& fit, Shape expected, const ShapeMeasureOptions& options) {
  if (fit.frames_used < 1) return kNone;
  const double skew = fit.vertical_skew, corner = fit.corner_score;
  // classify_shape(): a triangle is decided by the skew alone; the others need a small skew first
  // and then the corner score on their side of ±min_corner_score.
  if (expected == Shape::kTriangle) return -skew - options.min_apex_score;
  const double symmetric = options.min_apex_score - std::abs(skew);
  switch (expected) {
    case Shape::kSquare: return std::min(symmetric, -corner - options.min_corner_score);
    case Shape::kDiamond: return std::min(symmetric, corner - options.min_corner_score);
    default: return std::min(symmetric, options.min_corner_score - std::abs(corner));
  }
}

double motion_margin(const MotionFit& fit, Motion expected, double min_score) {
  if (fit.frames_used < 2) return kNone;
  const double translation = fit.translation_score, scale = fit.scale_score;
  if (expected == Motion::kGrowing || expected == Motion::kShrinking) {
    // classify_motion(): the scale score must beat the translation and the threshold, with the
    // captioned sign of the log area ratio.
    const double signed_scale = expected == Motion::kGrowing ? std::log(fit.area_ratio) : -std::log(fit.area_ratio);
    return std::min({signed_scale - translation, signed_scale - min_score});
  }
  // A translation: in object sizes, the component along the captioned direction must beat the
  // other axis, and the translation must beat the scale score and the threshold.
  const double distance = std::hypot(fit.dx, fit.dy);
  const double size = distance > 0 ? distance / translation : 1.0;  // √(mean area), as the score used
  int ux = 0, uy = 0;
  motion_direction(expected, ux, uy);
  const double along = (fit.dx * ux + fit.dy * uy) / size;
  const double across = std::abs(fit.dx * uy - fit.dy * ux) / size;
  return std::min({along - across, translation - scale, translation - min_score});
}

AttributeMargins attribute_margins(const ShapeAttributes& expected, const ClipMeasurement& measured,
                                   const MeasureOptions& options) {
  AttributeMargins m;
  m.background = color_margin(measured.background_rgb, expected.background);
  if (!measured.object) {
    m.color = m.shape = m.motion = kNone;
    return m;
  }
  m.color = color_margin(measured.object_rgb, expected.color);
  m.shape = shape_margin(measured.shape_fit, expected.shape, options.shape);
  m.motion = motion_margin(measured.fit, expected.motion, options.min_motion_score);
  return m;
}

}  // namespace osp::shapes
