#pragma once
// The micro training run of the trainer tests: a 2-layer, dim-32 DiT on synthetic latents
// [4, 2, 4, 4], as YAML, and a trainer made from such a config.
#include <string>

#include "osp/parallel/communicator.h"
#include "osp/train/trainer.h"

namespace osp::test {

// A micro DiT on synthetic latents [4, 2, 4, 4]: 2 layers, dim 32.
inline constexpr const char* kOptimizer =
    "optimizer: {lr: 2.0e-3, betas: [0.9, 0.99], weight_decay: 0.01, warmup_steps: 2, grad_clip: 1.0}\n";

inline std::string micro_config(const std::string& output_dir, const std::string& extra = "", const std::string& run = "",
                                const std::string& optimizer = kOptimizer) {
  return std::string("model:\n") +
         "  fields: {dim: 32, ffn_dim: 48, num_heads: 2, num_layers: 2, freq_dim: 32, text_dim: 24, text_len: 8,\n"
         "           in_dim: 4, out_dim: 4}\n"
         "  init_seed: 3\n"
         "data:\n"
         "  synthetic: {samples: 6, frames: 2, height: 4, width: 4, text_tokens: 5, seed: 4}\n" +
         optimizer + extra + (run.empty() ? "steps: 20\nbatch_size: 2\nprecision: fp32\ncaption_dropout: 0.2\nema_decay: 0.9\nseed: 5\n" : run) +
         "output_dir: " + output_dir + "\n";
}

inline osp::train::Trainer make_trainer(const std::string& yaml, osp::parallel::Communicator comm = {}) {
  const osp::train::TrainConfig c = osp::train::TrainConfig::from_yaml(yaml);
  return osp::train::Trainer(c, osp::train::open_samples(c), std::move(comm));
}

}  // namespace osp::test
