#pragma once
// The configuration of `osp rl --config FILE.yaml` (docs/rl.md "Config reference"). Every field is
// checked before any work: an unknown field or an impossible value is an osp::Error naming it
// ("rl.yaml: group_size: must be at least 2, got 1").
//
//   model: models/osp-next-tiny            # the base bundle (frozen; only the LoRA trains)
//   lora: {rank: 32, alpha: 64, targets: [...], init: gaussian}
//   prompts: prompts.txt                   # one prompt per line (# comments, blank lines skipped)
//   video: {width: 0, height: 0, frames: 0}          # 0: the bundle's defaults
//   sampling: {steps: 25, sde_steps: 10, timestep_fraction: 1.0, shift: 1.0, guidance: 5.0,
//              window: {width: 4, iterations: 25, stride: 1, start: 0}}   # optional: MixGRPO
//   group_size: 4, sample_batch_size: 2, train_batch_size: 2, batches_per_epoch: 4, epochs: 10
//   policy: {clip_range: 5e-3, adv_clip_max: 5.0, kl_beta: 0.004, global_std: false}
//   optimizer: {lr: 2e-5, betas: [0.9, 0.999], eps: 1e-15, weight_decay: 0.0}
//   grad_clip: {init_max_norm: 1.0, decay: 0.99}    # adaptive gradient clipping
//   ema: {decay: 0.9999, interval: 1}
//   rewards: [{type: shapes, weight: 1.0}, {type: command, command: "python3 s.py", weight: 1,
//              timeout: 120}, {type: http, url: "http://127.0.0.1:8000/score", weight: 1}]
//   eval: {prompts: heldout.txt, every: 10, steps: 50, seed: 4096}    # optional
//   checkpoint_every: 1, seed: 1024, precision: bf16, output_dir: runs/rl
//   parallel: {shard: none | full, sp: 1, ssp: 1}   # under a launcher (docs/rl.md "Sharded and
//                                                   # sequence-parallel RL")
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "osp/adapters/trainable.h"
#include "osp/core/precision.h"
#include "osp/train/optimizer.h"
#include "osp/train/parallel_settings.h"

namespace osp::rl {

struct RewardTermConfig {
  std::string name;     // unique: "shapes", "command", "http", or the `name:` given
  std::string type;     // shapes | command | http
  double weight = 1.0;
  std::string command;  // type command
  std::string url;      // type http
  double timeout_s = 120;
  bool graded = false;  // type shapes: graded sub-scores instead of 0/1
};

struct SlidingWindowConfig {
  int64_t width = 4, iterations = 25, stride = 1, start = 0;
};

// The parallel section's fields (shard, bucket_bytes, sp, ssp) come from ParallelSettings.
struct RlConfig : train::ParallelSettings {
  std::string source = "config";

  std::string model;
  adapters::LoraTrainingSpec lora;
  std::string prompts;
  std::vector<std::string> prompt_list;  // read from `prompts` when the config is loaded
  int64_t width = 0, height = 0, frames = 0;

  int64_t steps = 25;      // N
  int64_t sde_steps = 10;  // K: steps 0…K−1 stochastic and trained
  double timestep_fraction = 1.0;
  std::optional<SlidingWindowConfig> window;
  double shift = 1.0;
  double guidance = 5.0;

  int64_t group_size = 4;
  int64_t sample_batch_size = 2;
  int64_t train_batch_size = 2;
  int64_t batches_per_epoch = 4;
  int64_t epochs = 10;

  double clip_range = 5e-3;
  double adv_clip_max = 5.0;
  double kl_beta = 0.004;
  bool global_std = false;

  train::AdamWOptions optimizer{2e-5, 0.9, 0.999, 1e-15, 0.0};
  double init_max_grad_norm = 1.0;
  double clip_decay = 0.99;
  double ema_decay = 0.9999;
  int64_t ema_interval = 1;

  std::vector<RewardTermConfig> rewards;

  std::string eval_prompts;
  std::vector<std::string> eval_prompt_list;
  int64_t eval_every = 0;  // epochs; 0: no evaluation
  int64_t eval_steps = 50;
  uint64_t eval_seed = 4096;

  int64_t checkpoint_every = 1;  // epochs
  uint64_t seed = 1024;
  Precision precision{PrecisionMode::kBf16};
  std::string output_dir;

  // Trained steps T_tr = int(K · timestep_fraction) (at least 1), or the window's width.
  int64_t trained_steps() const;

  static RlConfig from_yaml(const std::string& text, const std::string& source = "config",
                            const std::string& base_dir = ".");
  static RlConfig from_file(const std::string& path);
};

// Prompts of a file: one per line, '#' comments and blank lines skipped. osp::Error naming the
// file when it is missing or holds no prompt.
std::vector<std::string> read_prompts(const std::string& path);

}  // namespace osp::rl
