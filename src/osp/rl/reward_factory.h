#pragma once
// The reward a config's `rewards:` list names (docs/rl.md "Rewards"): one term per entry, summed
// with the entries' weights.
#include "osp/rl/reward.h"
#include "osp/rl/rl_config.h"

namespace osp::rl {

Reward make_reward(const std::vector<RewardTermConfig>& terms);

}  // namespace osp::rl
