#include "osp/rl/reward_factory.h"

#include "osp/rl/command_reward.h"
#include "osp/rl/http_reward.h"
#include "osp/rl/shapes_reward.h"

namespace osp::rl {

Reward make_reward(const std::vector<RewardTermConfig>& terms) {
  Reward reward;
  for (const RewardTermConfig& t : terms) {
    ScorerOptions options;
    options.timeout_s = t.timeout_s;
    std::unique_ptr<RewardTerm> term;
    if (t.type == "shapes") {
      term = std::make_unique<ShapesReward>(t.graded);
    } else if (t.type == "command") {
      term = std::make_unique<CommandReward>(t.command, options);
    } else {
      term = std::make_unique<HttpReward>(t.url, options);
    }
    reward.add(t.name, t.weight, std::move(term));
  }
  return reward;
}

}  // namespace osp::rl
