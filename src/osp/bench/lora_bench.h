#pragma once
// `osp bench lora` (docs/lora.md "Cost"): the DiT forward with 0 (merged), 1 and 4 runtime LoRAs
// of rank r on every attention linear (q, k, v, o of self- and cross-attention), against the same
// run's merged model — the goal is ≤ 10 % per step for rank 32 — and the cost of loading an
// adapter file, merging it into the weights and attaching it.
#include <cstdint>
#include <string>

namespace osp::bench {

struct LoraBenchOptions {
  std::string precision = "bf16";
  int64_t layers = 2;         // at the 1.3B width
  int64_t latent_frames = 5;  // 17 video frames
  int64_t height = 480, width = 832;
  int64_t rank = 32;
  int reps = 3;  // timed forwards per case; the fastest counts
};

void run_lora_bench(const LoraBenchOptions& options);

}  // namespace osp::bench
