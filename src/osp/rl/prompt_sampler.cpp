#include "osp/rl/prompt_sampler.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "osp/core/error.h"

namespace osp::rl {
namespace {

void check_options(int64_t dataset_size, const PromptSamplerOptions& o, int64_t sampler_epoch) {
  if (o.ranks < 1) fail_about("data-parallel ranks", "must be at least 1, got {}", o.ranks);
  if (o.batch_size < 1) fail_about("sample_batch_size", "must be at least 1, got {}", o.batch_size);
  if (o.repeats < 1) fail_about("num_image_per_prompt", "must be at least 1, got {}", o.repeats);
  const int64_t total = o.ranks * o.batch_size;
  if (total % o.repeats != 0) {
    fail_about("num_image_per_prompt",
               "{} must divide ranks × sample_batch_size = {} × {} = {} (each prompt's group must fill whole "
               "slots of one rollout batch)",
               o.repeats, o.ranks, o.batch_size, total);
  }
  const int64_t distinct = total / o.repeats;
  if (distinct > dataset_size) {
    fail_about("prompt file", "has {} prompts, but a rollout batch needs {} distinct ones", dataset_size, distinct);
  }
  require(sampler_epoch >= 0, "prompt sampler: sampler epoch {} is negative", sampler_epoch);
}

}  // namespace

int64_t sampler_epoch(int64_t epoch, int64_t batches_per_epoch, int64_t batch_index) {
  return epoch * batches_per_epoch + batch_index;
}

std::vector<int64_t> k_repeat_indices(int64_t dataset_size, const PromptSamplerOptions& options,
                                      int64_t sampler_epoch) {
  check_options(dataset_size, options, sampler_epoch);
  const int64_t total = options.ranks * options.batch_size;
  at::Generator generator = at::detail::createCPUGenerator(options.seed + static_cast<uint64_t>(sampler_epoch));
  const at::Tensor chosen = at::randperm(dataset_size, generator, at::kLong);
  const at::Tensor shuffle = at::randperm(total, generator, at::kLong);
  const auto* prompt = chosen.data_ptr<int64_t>();
  const auto* slot = shuffle.data_ptr<int64_t>();
  // Entry e of the repeated list [p0, p0, …, p0, p1, …] is prompt e / k; the shuffle reorders it.
  std::vector<int64_t> out(static_cast<size_t>(total));
  for (int64_t e = 0; e < total; ++e) out[static_cast<size_t>(e)] = prompt[slot[e] / options.repeats];
  return out;
}

std::vector<int64_t> k_repeat_batch(int64_t dataset_size, const PromptSamplerOptions& options, int64_t sampler_epoch,
                                    int64_t rank) {
  const std::vector<int64_t> all = k_repeat_indices(dataset_size, options, sampler_epoch);
  require(rank >= 0 && rank < options.ranks, "prompt sampler: rank {} is outside 0..{}", rank, options.ranks - 1);
  const auto begin = all.begin() + rank * options.batch_size;
  return std::vector<int64_t>(begin, begin + options.batch_size);
}

}  // namespace osp::rl
