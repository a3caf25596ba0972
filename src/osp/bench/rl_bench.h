#pragma once
// `osp bench rl` (docs/rl.md "Cost"): one Mix-GRPO epoch split into rollout, reward and update, and
// its peak RSS, for a tiny random bundle and a bundle with a 1.3B-width DiT of a few layers (tiny
// text encoder and VAE), against three same-run baselines:
//   rollout       vs plain generation of the same videos (the deterministic guided sampler, no
//                 log-probabilities, no stored states) — goal ≤ 1.1×;
//   trained step  (conditional forward with graph + backward, unconditional forward detached, per
//                 micro-batch and step) vs one inference forward of the same batch — goal ≤ 4×;
//   peak RSS      vs LoRA SFT at the same latent shape and batch — goal ≤ 1.15×.
#include <cstdint>
#include <string>
#include <vector>

namespace osp::bench {

struct RlBenchOptions {
  std::vector<std::string> configs{"tiny", "1.3b-2layer"};
  int64_t layers = 2;  // of the 1.3B-width case
  int64_t frames = 17;
  int64_t tiny_size = 64, wide_size = 128;
  int64_t steps = 10, sde_steps = 4;
  int64_t batch = 4;  // videos per rollout batch = group size = train micro-batch
  std::string precision = "bf16";
};

void run_rl_bench(const RlBenchOptions& options);

}  // namespace osp::bench
