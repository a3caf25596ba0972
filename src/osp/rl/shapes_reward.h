#pragma once
// The `shapes` reward term (docs/rl.md "Rewards"): the Shapes evaluator's measurement of a decoded
// video (src/osp/shapes/measure.h) against the attributes its caption names, one sub-score per
// attribute (color, shape, background, motion) and their mean as the reward.
//
//   binary (default): 1 when the measurement names the captioned value, else 0;
//   graded:           clamp(½ + margin / (2 · scale), 0, 1) from the attribute's signed margin
//                     (src/osp/shapes/margins.h), with the decision's own threshold as the scale
//                     (mask threshold for colours, corner threshold for shape, motion threshold) —
//                     above ½ exactly when the binary score is 1, saturating one scale away from
//                     the boundary, so that near misses and clear hits are told apart.
// Prompts outside the Shapes grammar are an error naming the prompt.
#include "osp/rl/reward.h"

namespace osp::rl {

class ShapesReward : public RewardTerm {
 public:
  explicit ShapesReward(bool graded = false) : graded_(graded) {}
  std::string describe() const override { return graded_ ? "shapes (graded)" : "shapes"; }
  RewardScore score(RewardVideo& video) override;

 private:
  bool graded_;
};

// The graded sub-score of one margin (see above); 0 for a margin of −∞.
double graded_score(double margin, double scale);

}  // namespace osp::rl
