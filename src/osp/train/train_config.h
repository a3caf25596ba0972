#pragma once
// The configuration of `osp train --config FILE.yaml` (docs/training.md): model, data, optimizer
// and run settings. Every field is checked before training starts: an unknown field or an
// impossible value is an osp::Error naming the field ("optimizer.lr: must be positive, got -1").
//
//   model:      { config: FILE.json | preset: NAME | fields: {dim: 64, ...},   # exactly one
//                 weights: FILE.safetensors, init_seed: 0 }                   # optional
//   data:       { manifest: cache/manifest.jsonl }                            # `osp data cache` output
//            or { synthetic: {samples: 8, channels: 4, frames: 2, height: 8, width: 8,
//                             text_tokens: 5, text_dim: 24, seed: 0} }        # tests, benchmarks
// or, to train a VAE instead of a DiT (vae_objective.h):
//   vae:        { config: FILE.json | fields: {base_dim: 16, z_dim: 8, ...},  # exactly one
//                 kl_weight: 1e-6, weights: FILE, init_seed: 0,
//                 freeze_encoder: false, first_frame_weight: 1, foreground_weight: 1,
//                 edge_weight: 0 }
//   data:       { videos: shapes/manifest.jsonl, frames: 9, size: 64, fps: 16, crop: 32 }
//   optimizer:  { lr: 1e-4, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0.0,
//                 warmup_steps: 0, grad_clip: 1.0,
//                 decay: constant | linear | cosine, decay_start: warmup_steps, min_lr: 0 }
// and, to train a LoRA on the (frozen) DiT instead of the DiT itself (docs/lora.md "Training"):
//   lora:       { rank: 32, alpha: 64, targets: [self_attn.q, ...], init: gaussian }
// and how the ranks share the training (docs/training.md "Parallel training"):
//   parallel:   { shard: none | full, bucket_mb: 4,    # none: replicated data parallel
//                 sp: 1, ssp: 1 }                      # sequence parallel: Ulysses degree, skiparse_sp
//   activation_checkpointing: false                  # true: recompute each DiT block in backward
//   steps, batch_size (per rank), grad_accum, ema_decay, precision (bf16 | fp32),
//   caption_dropout, seed, checkpoint_every, log_every, output_dir, threads,
//   latent_foreground_weight: 1, latent_foreground_distance: 1.5   # DiT (latent_foreground.h)
#include <cstdint>
#include <optional>
#include <string>

#include "osp/adapters/trainable.h"
#include "osp/core/precision.h"
#include "osp/models/dit/config.h"
#include "osp/models/vae/config.h"
#include "osp/train/lr_schedule.h"
#include "osp/train/optimizer.h"
#include "osp/train/parallel_settings.h"

namespace osp::train {

// In-memory random latents and contexts (no files): a data source for tests and benchmarks.
struct SyntheticData {
  int64_t samples = 8;
  int64_t channels = 16;  // must equal the model's in_dim
  int64_t frames = 1, height = 8, width = 8;  // latent size [C, T', H', W']
  int64_t text_tokens = 8;                    // context rows (≤ the model's text_len)
  int64_t text_dim = 0;                       // 0: the model's text_dim
  uint64_t seed = 0;
};

// The parallel section's fields (shard, bucket_bytes, sp, ssp) come from ParallelSettings.
struct TrainConfig : ParallelSettings {
  std::string source = "config";  // the file, for messages

  dit::DiTConfig model;
  std::optional<vae::VaeConfig> vae;  // set: the run trains this VAE (the `vae:` section), not a DiT
  double kl_weight = 1e-6;            // vae.kl_weight
  bool freeze_encoder = false;        // vae.freeze_encoder: train the decoder only (the latents stay)
  double first_frame_weight = 1.0;    // vae.first_frame_weight: L1 weight of frame 0 (decoded alone)
  double foreground_weight = 1.0;     // vae.foreground_weight: L1 weight of pixels off the border colour
  double edge_weight = 0.0;           // vae.edge_weight: weight of the edge term (edge_loss.h)
  std::optional<adapters::LoraTrainingSpec> lora;  // set: train this LoRA on the frozen DiT (the `lora:` section)
  std::string model_weights;  // initial weights (empty: random, init_seed)
  uint64_t init_seed = 0;

  std::string manifest;                    // cached manifest (data.manifest)
  std::optional<SyntheticData> synthetic;  // data.synthetic
  std::string videos;                      // data.videos: a video manifest (VAE training)
  int64_t clip_frames = 9;                 // data.frames (4k + 1)
  int64_t clip_size = 64;                  // data.size: square clips of size × size pixels
  int64_t clip_crop = 0;                   // data.crop: train on random crop × crop windows (0: whole)
  double clip_fps = 16;                    // data.fps (0: the files' rate)

  AdamWOptions optimizer;
  int64_t warmup_steps = 0;
  LrDecay lr_decay = LrDecay::kConstant;  // optimizer.decay
  int64_t decay_start = 0;                // optimizer.decay_start (a decay's default: warmup_steps)
  double min_lr = 0;                      // optimizer.min_lr: a decay's rate at the last step
  double grad_clip = 1.0;  // 0: no clipping

  int64_t steps = 1000;
  int64_t batch_size = 1;  // per rank and micro-batch
  int64_t grad_accum = 1;
  double ema_decay = 0.999;  // 0: the EMA equals the weights
  Precision precision{PrecisionMode::kBf16};
  double caption_dropout = 0.1;
  double latent_foreground_weight = 1.0;    // DiT: squared-error weight of the object's latent pixels
  double latent_foreground_distance = 1.5;  // DiT: their distance from the frame's median latent
  uint64_t seed = 0;
  int64_t checkpoint_every = 0;  // 0: only at the end
  int64_t log_every = 1;
  std::string output_dir;
  int threads = 0;  // 0: the CLI's --threads

  bool activation_checkpointing = false;  // recompute each DiT block's activations in backward

  // Parses YAML text; `source` names it in messages. Relative paths are resolved against
  // `base_dir` (the config file's folder). osp::Error naming "<source>: <field>".
  static TrainConfig from_yaml(const std::string& text, const std::string& source = "config",
                               const std::string& base_dir = ".");
  static TrainConfig from_file(const std::string& path);

  bool trains_vae() const { return vae.has_value(); }
  // The learning rate of every step: optimizer.lr, the warm-up and the decay over `steps`.
  LrSchedule lr_schedule() const;
  // "wan vae" or the DiT's arch name: for logs and the loss curve's title.
  std::string model_name() const;
};

}  // namespace osp::train
