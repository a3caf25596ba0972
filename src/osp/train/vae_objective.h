#pragma once
// The VAE's training objective: the Wan VAE (models/vae) encodes a clip with its chunked causal
// passes (docs/vae.md "Chunked causal execution"), a latent is sampled from the posterior
// N(mu, exp(logvar)) (docs/vae.md "Encoder"), the decoder reconstructs the clip, and the
// loss is mean |x̂ − x| + kl_weight · mean KL(N(mu, σ²) ‖ N(0, 1)). The L1 mean may weight frame 0
// and foreground pixels (vae.first_frame_weight, vae.foreground_weight: reconstruction_weights.h);
// vae.edge_weight adds an L1 on the spatial differences (edge_loss.h) that keeps corners.
//
// The checkpoint's config.json carries latents_mean / latents_std measured on the training clips with
// the saved weights (per channel over the posterior means), so a checkpoint folder is a complete VAE
// whose normalized latents ("Latent normalization") have zero mean and unit variance for the DiT.
#include <memory>

#include "osp/models/vae/model.h"
#include "osp/train/clip_loader.h"
#include "osp/train/manifest.h"
#include "osp/train/objective.h"
#include "osp/train/train_config.h"

namespace osp::train {

// The KL divergence of N(mu, exp(logvar)) from N(0, 1) per element:
// ½ (mu² + exp(logvar) − 1 − logvar).
at::Tensor gaussian_kl(const at::Tensor& mu, const at::Tensor& logvar);

class VaeObjective : public Objective {
 public:
  // Reads the video manifest (data.videos) and builds the VAE (random init from init_seed, or
  // vae.weights).
  explicit VaeObjective(const TrainConfig& config);

  nn::ParamModule& module() override { return *vae_; }
  int64_t data_size() const override { return static_cast<int64_t>(manifest_.entries.size()); }
  at::Tensor loss(const std::vector<SampleRef>& samples) override;
  nlohmann::json model_config() override { return architecture().to_json(); }
  nlohmann::json checkpoint_config() override;
  std::string describe() const override;
  // With vae.freeze_encoder: the encoder and its quant conv (conv1), so the latent space — and
  // every latent cached with the starting weights — stays as it is.
  bool frozen(const std::string& parameter) const override;

  vae::WanVAE& vae() { return *vae_; }
  // The clip of sample `index`: float32 [3, frames, size, size] in [−1, 1].
  at::Tensor clip(int64_t index) const;

 private:
  vae::VaeConfig architecture() const;  // the config without the measured latent statistics
  at::Tensor encode_moments(const at::Tensor& x) const;

  TrainConfig config_;
  Manifest manifest_;
  ClipConfig clips_;
  std::unique_ptr<vae::WanVAE> vae_;
};

}  // namespace osp::train
