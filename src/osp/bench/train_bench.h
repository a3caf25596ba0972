#pragma once
// `osp bench train`: DiT training throughput — samples/s of one optimizer step (forward
// + backward + AdamW + EMA, batch 1, synthetic latents) and the peak RSS of each case (the
// high-water mark is reset before each), against the same-run baseline of the inference forward
// on the same input. Cases: a tiny OSP-Next config and a 1.3B-width 2-layer config, at 17 video
// frames (5 latent frames) and a small spatial size, in bf16 and fp32.
#include <cstdint>
#include <string>
#include <vector>

#include "osp/train/train_config.h"

namespace osp::bench {

struct TrainBenchOptions {
  std::vector<std::string> precisions{"bf16", "fp32"};
  std::vector<std::string> configs{"tiny", "1.3b-2layer"};
  int64_t frames = 17;        // video frames (latent frames (F − 1)/4 + 1)
  int64_t tiny_size = 64;     // square video size of the tiny case (latent /8)
  int64_t wide_size = 128;    // square video size of the 1.3B-width case
  int steps = 3;              // timed optimizer steps per case (after one warm-up step)
};

void run_train_bench(const TrainBenchOptions& options);

// The training config of one benchmark case: model `name` (bench_models.h) with `layers` blocks
// where the case lets it, synthetic latents of `frames` video frames and a square `size` (pixels),
// batch 1, `steps` + 1 steps (one warm-up).
train::TrainConfig train_bench_config(const std::string& name, const std::string& precision, int64_t frames,
                                      int64_t size, int steps, int64_t layers = 2);

}  // namespace osp::bench
