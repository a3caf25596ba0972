#pragma once
// The Wan 2.1 VAE, WanVAE_ (docs/vae.md "Configuration" to "Latent normalization"), as a module whose named_parameters() are the
// keys of Wan2.1_VAE.pth ("Checkpoint keys"): encoder.*, conv1, conv2, decoder.*.
//
// encode_region / decode_region run the chunked causal passes of "Chunked causal execution" on one spatial region (the
// whole frame, or one tile: tiling.h); codec.h adds input checks, tiling and progress.
#include <c10/core/Device.h>

#include <functional>
#include <memory>

#include "osp/models/vae/coder.h"
#include "osp/models/vae/config.h"

namespace osp::vae {

// What one encode/decode did (accumulated over calls): FLOPs of the convolutions and attention,
// and the largest feature-cache size seen after a chunk.
struct RunStats {
  double flops = 0;
  int64_t peak_cache_bytes = 0;
};

// Receives decoded frames [B, 3, t, H, W] float32 (not yet clamped) chunk by chunk, in order.
using FrameSink = std::function<void(const at::Tensor& frames)>;

class WanVAE : public nn::ParamModule {
 public:
  // Parameters float32, allocated uninitialized on `device` (a loader or randomize_weights fills
  // them, random_weights.h). Validates the config (osp::Error).
  explicit WanVAE(VaeConfig config, c10::Device device = c10::kCPU);

  // video [B, 3, T, H, W] float32, T = 4k + 1, H and W multiples of 8 (unchecked here) →
  // normalized latents z = (mu − mean)·(1/std) [B, z_dim, k + 1, H/8, W/8] ("Chunked causal execution" encode chunks
  // 1, 4, 4, …; "Latent normalization"). `on_chunk` is called after each chunk.
  at::Tensor encode_region(const at::Tensor& video, const std::function<void()>& on_chunk = {},
                           RunStats* stats = nullptr) const;

  // The same chunked encode up to conv1: the posterior's moments [B, 2·z_dim, k + 1, H/8, W/8],
  // mu in channels [0, z), log-variance in [z, 2z) ("Encoder"), not normalized. Differentiable (training).
  at::Tensor encode_moments(const at::Tensor& video, const std::function<void()>& on_chunk = {},
                            RunStats* stats = nullptr) const;

  // "Latent normalization" of mu (or of a posterior sample) and its inverse.
  at::Tensor normalize(const at::Tensor& mu) const;
  at::Tensor denormalize(const at::Tensor& latents) const;

  // normalized latents [B, z_dim, n, h, w] → un-normalize ("Latent normalization"), conv2, then the decoder one latent
  // frame per chunk ("Chunked causal execution"); each chunk's frames go to `sink` as soon as they exist, so that nothing
  // but the feature cache outlives a chunk.
  void decode_region(const at::Tensor& latents, const FrameSink& sink, RunStats* stats = nullptr) const;

  // decode_region from un-normalized latents (denormalize(latents)): the training path, where the
  // decoder sees posterior samples before any normalization constants exist.
  void decode_raw(const at::Tensor& mu, const FrameSink& sink, RunStats* stats = nullptr) const;

  const VaeConfig& config() const { return config_; }
  c10::Device device() const { return device_; }

  std::shared_ptr<EncoderWeights> encoder;
  std::shared_ptr<CausalConv3dWeights> conv1;  // 2z → 2z, 1×1×1, after the encoder
  std::shared_ptr<CausalConv3dWeights> conv2;  // z → z, 1×1×1, before the decoder
  std::shared_ptr<DecoderWeights> decoder;

 private:
  VaeConfig config_;
  c10::Device device_;
  at::Tensor mean_;     // [1, z, 1, 1, 1] float32
  at::Tensor inv_std_;  // [1, z, 1, 1, 1] float32 reciprocal of std, as the reference computes it ("Latent normalization")
};

}  // namespace osp::vae
