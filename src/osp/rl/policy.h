#pragma once
// What RL post-training holds in memory (docs/rl.md "Memory"): the frozen base DiT with the
// trained LoRA attached (its reference policy is the same network with the adapter bypassed, so
// there is no second copy), the VAE for decoding rollouts, and the text contexts of every prompt
// and the negative prompt, encoded once at start (the text encoder is freed after).
#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "osp/adapters/adapter.h"
#include "osp/models/dit/model.h"
#include "osp/models/vae/model.h"
#include "osp/pipeline/bundle.h"
#include "osp/pipeline/generation_params.h"
#include "osp/rl/rl_config.h"

namespace osp::rl {

struct Policy {
  pipeline::ModelBundle bundle;
  pipeline::GenerationParams video;  // width, height, frames, fps (config over bundle defaults)
  std::unique_ptr<dit::WanDiT> dit;  // float32 master weights of the LoRA; bf16 compute by policy
  std::unique_ptr<vae::WanVAE> vae;
  adapters::Adapter lora;            // attached to `dit`
  std::map<std::string, at::Tensor> contexts;  // text → [1, L, D] float32
  std::string negative_prompt;
  nlohmann::json base_identity;      // {"path", "sha256"} of the DiT weights
  // Set when parallel.shard is full: the base's values are not loaded here but streamed from this
  // file into the ranks' shards (the whole model is never resident on a rank).
  std::string unloaded_base;

  // [B, L, D]: the contexts of `prompts` stacked, and the negative prompt's repeated B times.
  at::Tensor context_batch(const std::vector<std::string>& prompts) const;
  at::Tensor negative_batch(int64_t batch) const;
  // Latent shape [C, F, H, W] of one video.
  std::vector<int64_t> latent_shape() const;
};

// Loads the bundle, checks the video size, encodes every train / eval prompt and the negative
// prompt, attaches a fresh LoRA (config.lora, initialised from config.seed). Under parallel.shard:
// full the DiT's base weights are left unloaded (unloaded_base). osp::Error naming the field or
// file on anything that does not fit.
Policy load_policy(const RlConfig& config);

}  // namespace osp::rl
