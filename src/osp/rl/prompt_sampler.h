#pragma once
// The k-repeat prompt sampler of GRPO rollouts (docs/rl.md "Prompt sampling"). Every rollout batch
// draws m distinct prompts for the whole data-parallel world, repeats each k times (one group per
// prompt), shuffles the k·m entries and deals consecutive slices to the ranks. All ranks compute
// the same shuffle from the same seed, so no communication is needed; a group's members may land
// on different ranks.
//
// Generator (documented so that runs can be reproduced): LibTorch's CPU generator (mt19937) seeded
// with seed + sampler_epoch, first at::randperm(dataset_size) (its first m entries are the prompts),
// then at::randperm(k·m) on the same generator (the shuffle) — the draws of Python's
//   g = torch.Generator(); g.manual_seed(seed + sampler_epoch)
//   torch.randperm(dataset_size, generator=g)[:m]; torch.randperm(k·m, generator=g)
// with the same torch version.
#include <cstdint>
#include <vector>

namespace osp::rl {

struct PromptSamplerOptions {
  int64_t ranks = 1;       // R: data-parallel ranks
  int64_t batch_size = 2;  // B_s: prompts per rank and rollout batch (sample_batch_size)
  int64_t repeats = 4;     // k: videos per prompt (num_image_per_prompt)
  uint64_t seed = 0;
};

// The sampler epoch of rollout batch `batch_index` of training epoch `epoch`: every batch reshuffles.
int64_t sampler_epoch(int64_t epoch, int64_t batches_per_epoch, int64_t batch_index);

// The R·B_s dataset indices of one sampler epoch, rank j's B_s entries at [j·B_s, (j+1)·B_s): m =
// R·B_s/k distinct indices in [0, dataset_size), each k times. osp::Error unless k divides R·B_s,
// all sizes are ≥ 1, sampler_epoch ≥ 0 and m ≤ dataset_size.
std::vector<int64_t> k_repeat_indices(int64_t dataset_size, const PromptSamplerOptions& options,
                                      int64_t sampler_epoch);

// Rank `rank`'s B_s dataset indices (its slice of k_repeat_indices). osp::Error for a rank outside
// 0..R−1, or as k_repeat_indices.
std::vector<int64_t> k_repeat_batch(int64_t dataset_size, const PromptSamplerOptions& options, int64_t sampler_epoch,
                                    int64_t rank);

}  // namespace osp::rl
