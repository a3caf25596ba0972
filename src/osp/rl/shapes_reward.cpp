#include "osp/rl/shapes_reward.h"

#include <algorithm>

#include "osp/core/error.h"
#include "osp/shapes/grammar.h"
#include "osp/shapes/margins.h"
#include "osp/shapes/measure.h"

namespace osp::rl {

double graded_score(double margin, double scale) { return std::clamp(0.5 + margin / (2.0 * scale), 0.0, 1.0); }

namespace {

std::map<std::string, double> binary_terms(const shapes::ShapeAttributes& expected, const shapes::ClipMeasurement& m) {
  const shapes::AttributeCheck check = shapes::check_attributes(expected, m);
  return {{"color", check.color ? 1.0 : 0.0},
          {"shape", check.shape ? 1.0 : 0.0},
          {"background", check.background ? 1.0 : 0.0},
          {"motion", check.motion ? 1.0 : 0.0}};
}

std::map<std::string, double> graded_terms(const shapes::ShapeAttributes& expected, const shapes::ClipMeasurement& m,
                                           const shapes::MeasureOptions& options) {
  const shapes::AttributeMargins margins = shapes::attribute_margins(expected, m, options);
  return {{"color", graded_score(margins.color, options.mask_threshold)},
          {"shape", graded_score(margins.shape, options.shape.min_corner_score)},
          {"background", graded_score(margins.background, options.mask_threshold)},
          {"motion", graded_score(margins.motion, options.min_motion_score)}};
}

}  // namespace

RewardScore ShapesReward::score(RewardVideo& video) {
  const std::optional<shapes::ShapeAttributes> expected = shapes::parse_caption(video.prompt());
  if (!expected) fail_about(video.prompt(), "is not a Shapes caption (a COLOR SHAPE MOTION on a BACKGROUND background)");
  // [T, H, W, 3] in [0, 1] → the measurement's [3, T, H, W] in [−1, 1].
  const at::Tensor frames = video.frames().permute({3, 0, 1, 2}) * 2.0 - 1.0;
  const shapes::MeasureOptions options;
  const shapes::ClipMeasurement measured = shapes::measure_clip(frames, options);
  RewardScore s;
  s.terms = graded_ ? graded_terms(*expected, measured, options) : binary_terms(*expected, measured);
  double sum = 0;
  for (const auto& [name, value] : s.terms) sum += value;
  s.value = sum / static_cast<double>(s.terms.size());
  return s;
}

}  // namespace osp::rl
