#pragma once
// The `shapes` reward term (docs/rl.md "Rewards"): the Shapes evaluator's measurement of a decoded
// video (src/osp/shapes/measure.h) against the attributes its caption names. Each attribute the
// measurement gets right scores 1, a wrong or unknown one 0; the reward is their mean, and each
// attribute is reported as a sub-score (color, shape, background, motion). Prompts outside the Shapes grammar are an error naming the prompt.
#include "osp/rl/reward.h"

namespace osp::rl {

class ShapesReward : public RewardTerm {
 public:
  std::string describe() const override { return "shapes"; }
  RewardScore score(RewardVideo& video) override;
};

}  // namespace osp::rl
