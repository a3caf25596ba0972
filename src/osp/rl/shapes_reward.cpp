#include "osp/rl/shapes_reward.h"

#include "osp/core/error.h"
#include "osp/shapes/grammar.h"
#include "osp/shapes/measure.h"

namespace osp::rl {

RewardScore ShapesReward::score(RewardVideo& video) {
  const std::optional<shapes::ShapeAttributes> expected = shapes::parse_caption(video.prompt());
  if (!expected) fail_about(video.prompt(), "is not a Shapes caption (a COLOR SHAPE MOTION on a BACKGROUND background)");
  // [T, H, W, 3] in [0, 1] → the measurement's [3, T, H, W] in [−1, 1].
  const at::Tensor frames = video.frames().permute({3, 0, 1, 2}) * 2.0 - 1.0;
  const shapes::AttributeCheck check = shapes::check_attributes(*expected, shapes::measure_clip(frames));
  RewardScore s;
  s.terms = {{"color", check.color ? 1.0 : 0.0},
             {"shape", check.shape ? 1.0 : 0.0},
             {"background", check.background ? 1.0 : 0.0},
             {"motion", check.motion ? 1.0 : 0.0}};
  double sum = 0;
  for (const auto& [name, value] : s.terms) sum += value;
  s.value = sum / static_cast<double>(s.terms.size());
  return s;
}

}  // namespace osp::rl
