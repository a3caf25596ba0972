#include "osp/rl/advantages.h"

#include <cmath>
#include <map>

#include "osp/core/error.h"

namespace osp::rl {
namespace {

struct Moments {
  double mean = 0.0;
  double std = 0.0;  // population (divides by n)
};

// Mean and population std of rewards[indices]. The mean is taken as r_0 + mean(r − r_0): the same
// number up to rounding, but exactly r_0 when all rewards are equal, so that such a group's
// advantages are exactly 0 whatever the group size (a plain sum/n may round to r_0 ± 1 ulp).
Moments moments(const std::vector<double>& rewards, const std::vector<size_t>& indices) {
  const double anchor = rewards[indices.front()];
  double offset = 0.0;
  for (size_t i : indices) offset += rewards[i] - anchor;
  const double n = static_cast<double>(indices.size());
  Moments m;
  m.mean = anchor + offset / n;
  double squares = 0.0;
  for (size_t i : indices) squares += (rewards[i] - m.mean) * (rewards[i] - m.mean);
  m.std = std::sqrt(squares / n);
  return m;
}

std::vector<size_t> all_indices(size_t n) {
  std::vector<size_t> indices(n);
  for (size_t i = 0; i < n; ++i) indices[i] = i;
  return indices;
}

// Prompt string → the indices of its samples.
std::map<std::string, std::vector<size_t>> group_by_prompt(const std::vector<std::string>& prompts) {
  std::map<std::string, std::vector<size_t>> groups;
  for (size_t i = 0; i < prompts.size(); ++i) groups[prompts[i]].push_back(i);
  return groups;
}

void check_rewards(const std::vector<double>& rewards, const std::vector<std::string>& prompts,
                   const AdvantageOptions& options) {
  require(!rewards.empty(), "advantages: no rewards");
  require(rewards.size() == prompts.size(), "advantages: {} rewards but {} prompts", rewards.size(), prompts.size());
  for (size_t i = 0; i < rewards.size(); ++i) {
    require(std::isfinite(rewards[i]), "advantages: reward {} of prompt \"{}\" is not finite ({})", i, prompts[i],
            rewards[i]);
  }
  if (options.group_size < 1) fail_about("num_image_per_prompt", "must be at least 1, got {}", options.group_size);
  if (options.sample_time_per_prompt < 1) {
    fail_about("sample_time_per_prompt", "must be at least 1, got {}", options.sample_time_per_prompt);
  }
}

}  // namespace

std::vector<double> group_advantages(const std::vector<double>& rewards, const std::vector<std::string>& prompts,
                                     const AdvantageOptions& options) {
  check_rewards(rewards, prompts, options);
  const Moments all = moments(rewards, all_indices(rewards.size()));
  std::vector<double> advantages(rewards.size());
  // One video per prompt: no group to compare with, so the batch is the group.
  if (options.group_size * options.sample_time_per_prompt <= 1) {
    for (size_t i = 0; i < rewards.size(); ++i) {
      advantages[i] = (rewards[i] - all.mean) / (all.std + kAdvantageStdEpsilon);
    }
    return advantages;
  }
  for (const auto& [prompt, indices] : group_by_prompt(prompts)) {
    const Moments group = moments(rewards, indices);
    const double spread = options.global_std ? all.std : group.std;
    for (size_t i : indices) advantages[i] = (rewards[i] - group.mean) / (spread + kAdvantageStdEpsilon);
  }
  return advantages;
}

std::vector<double> rank_advantages(const std::vector<double>& gathered, int64_t ranks, int64_t rank) {
  const auto n = static_cast<int64_t>(gathered.size());
  require(ranks >= 1 && n % ranks == 0, "advantages: {} samples cannot be split over {} ranks", n, ranks);
  require(rank >= 0 && rank < ranks, "advantages: rank {} is outside 0..{}", rank, ranks - 1);
  const int64_t per_rank = n / ranks;
  return std::vector<double>(gathered.begin() + rank * per_rank, gathered.begin() + (rank + 1) * per_rank);
}

FilteredAdvantages filter_advantages(const std::vector<double>& advantages, int64_t quantum,
                                     at::Generator& generator) {
  if (quantum < 1) fail_about("num_batches_per_epoch", "the filtering quantum must be at least 1, got {}", quantum);
  std::vector<bool> keep(advantages.size());
  std::vector<int64_t> zero;  // indices of the zero-advantage samples, ascending
  int64_t count = 0;
  for (size_t i = 0; i < advantages.size(); ++i) {
    keep[i] = advantages[i] != 0.0;
    if (keep[i]) {
      ++count;
    } else {
      zero.push_back(static_cast<int64_t>(i));
    }
  }
  FilteredAdvantages out;
  if (count == 0) {
    // Nothing carries a signal: train on everything with a tiny uniform advantage.
    for (size_t i = 0; i < advantages.size(); ++i) {
      out.kept.push_back(static_cast<int64_t>(i));
      out.advantages.push_back(advantages[i] + kAllZeroAdvantageOffset);
    }
    return out;
  }
  // Re-admit a few zero-advantage samples so that the kept count is a multiple of Q (as the
  // reference trainer does); they add no policy gradient, only the KL term's.
  const int64_t missing = count % quantum == 0 ? 0 : quantum - count % quantum;
  if (missing > 0 && static_cast<int64_t>(zero.size()) >= missing) {
    const at::Tensor order = at::randperm(static_cast<int64_t>(zero.size()), generator, at::kLong);
    const auto* picks = order.data_ptr<int64_t>();
    for (int64_t j = 0; j < missing; ++j) keep[static_cast<size_t>(zero[static_cast<size_t>(picks[j])])] = true;
  }
  for (size_t i = 0; i < advantages.size(); ++i) {
    if (!keep[i]) continue;
    out.kept.push_back(static_cast<int64_t>(i));
    out.advantages.push_back(advantages[i]);
  }
  return out;
}

}  // namespace osp::rl
