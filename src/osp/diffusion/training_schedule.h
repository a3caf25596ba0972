#pragma once
// The OSP-Next flow-matching training schedule (docs/sampling.md "Training noise schedule"): logit-normal noise levels,
// dynamic shift by resolution, linear interpolation between data and noise, velocity target and
// an unweighted mean-squared loss.
#include <ATen/ATen.h>

#include <cstdint>

namespace osp::diffusion {

struct TrainingScheduleOptions {
  double logit_mean = 0.0;  // use_logitnorm_time_sampling: u ~ N(mean, std²), σ = sigmoid(u)
  double logit_std = 1.0;
  bool dynamic_shift = true;  // use_dynamic_shifting ("Training noise schedule" step 2); else `shift` below
  double shift = 1.0;
};

// σ [batch] float32 for latents of spatial size latent_height × latent_width ("Training noise schedule" steps 1–2),
// drawn from `generator`.
at::Tensor sample_training_sigmas(int64_t batch, int64_t latent_height, int64_t latent_width,
                                  at::Generator& generator, const TrainingScheduleOptions& options = {});

// x_σ = σ·ε + (1 − σ)·x0 ("Training noise schedule" step 3), in float32, returned in x0's dtype. x0 and noise
// [B, C, F, H, W]; sigmas [B] (broadcast over the other dimensions).
at::Tensor interpolate(const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& sigmas);

// The model timestep 1000·σ (float32, not truncated) for sigmas [B].
at::Tensor training_timesteps(const at::Tensor& sigmas);

// The regression target ε − x0 ("Training noise schedule" step 4).
at::Tensor velocity_target(const at::Tensor& x0, const at::Tensor& noise);

// mean((v_pred − target)²) over all elements in float32, weight 1 ("Training noise schedule" step 4).
at::Tensor flow_matching_loss(const at::Tensor& v_pred, const at::Tensor& target);

}  // namespace osp::diffusion
