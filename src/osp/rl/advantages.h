#pragma once
// Group-relative advantages of GRPO and the filtering of uninformative samples (docs/rl.md "Group
// advantages"). A video's advantage is its reward standardised within the group of videos generated
// for the same prompt in the same epoch, so the policy is pushed toward the better members of each
// group and needs no learned value function.
#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

namespace osp::rl {

// Added to the standard deviation: a group whose rewards barely differ gets no huge advantages.
constexpr double kAdvantageStdEpsilon = 1e-4;
// Added to every advantage when filtering would keep nothing (so the epoch still trains).
constexpr double kAllZeroAdvantageOffset = 1e-6;

struct AdvantageOptions {
  int64_t group_size = 4;              // num_image_per_prompt: videos per prompt and rollout
  int64_t sample_time_per_prompt = 1;  // rollouts per prompt batch
  bool global_std = false;             // per-prompt mean, but the std of all rewards
};

// Advantages of all samples gathered in an epoch (every rank, every batch; any order), float64:
//   A = (r − mean_p)/(std_p + 1e-4), mean and population std over the rewards of r's prompt
// (grouped by exact string). With global_std, std_p is the std of all rewards. When
// group_size·sample_time_per_prompt ≤ 1 there are no groups and mean and std are those of all
// rewards. A prompt whose rewards are all equal gets exactly 0. osp::Error for sizes that differ,
// no samples, non-finite rewards or options < 1.
std::vector<double> group_advantages(const std::vector<double>& rewards, const std::vector<std::string>& prompts,
                                     const AdvantageOptions& options = {});

// Rank `rank`'s part of the gathered advantages: the gathered array as [ranks, n/ranks], row `rank`.
// osp::Error unless ranks divides the count and 0 ≤ rank < ranks.
std::vector<double> rank_advantages(const std::vector<double>& gathered, int64_t ranks, int64_t rank);

// The samples a rank trains on and their advantages (same order, ascending sample index).
struct FilteredAdvantages {
  std::vector<int64_t> kept;
  std::vector<double> advantages;
};

// Keeps the samples with A ≠ 0. When their count c is not a multiple of `quantum` Q
// (num_batches_per_epoch·sample_time_per_prompt), Q − (c mod Q) zero-advantage samples, chosen at
// random with `generator` (at::randperm over the zero-advantage samples), are kept too if that many
// exist (otherwise none). When c = 0 every sample is kept and 1e-6 is added to every advantage.
// osp::Error for Q < 1.
FilteredAdvantages filter_advantages(const std::vector<double>& advantages, int64_t quantum,
                                     at::Generator& generator);

}  // namespace osp::rl
