#include "osp/diffusion/training_schedule.h"

#include "osp/core/error.h"
#include "osp/core/shape.h"
#include "osp/diffusion/shift.h"

namespace osp::diffusion {

at::Tensor sample_training_sigmas(int64_t batch, int64_t latent_height, int64_t latent_width,
                                  at::Generator& generator, const TrainingScheduleOptions& options) {
  require(batch >= 1, "training sigmas: batch {} must be at least 1", batch);
  // docs/sampling.md "Training noise schedule" step 1: logit-normal σ.
  const at::Tensor u = at::normal(options.logit_mean, options.logit_std, {batch}, generator,
                                  at::TensorOptions().dtype(at::kFloat));
  const at::Tensor sigmas = at::sigmoid(u);
  // "Training noise schedule" step 2: the shift in float32 tensor arithmetic with a float64 s, as OSP-Next computes it.
  const double s = options.dynamic_shift ? dynamic_shift(latent_height, latent_width) : options.shift;
  return sigmas * s / (sigmas * (s - 1.0) + 1.0);
}

at::Tensor interpolate(const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& sigmas) {
  if (!x0.sizes().equals(noise.sizes())) {
    fail("interpolate: noise shape {} differs from the latent shape {}", shape_string(noise.sizes()),
         shape_string(x0.sizes()));
  }
  if (sigmas.dim() != 1 || x0.dim() < 1 || sigmas.size(0) != x0.size(0)) {
    fail("interpolate: sigmas {} must be [B] for latents {}", shape_string(sigmas.sizes()), shape_string(x0.sizes()));
  }
  std::vector<int64_t> view(static_cast<size_t>(x0.dim()), 1);
  view[0] = sigmas.size(0);
  const at::Tensor s = sigmas.to(at::kFloat).view(view);
  const at::Tensor mixed = s * noise.to(at::kFloat) + (1.0 - s) * x0.to(at::kFloat);
  return mixed.to(x0.scalar_type());
}

at::Tensor training_timesteps(const at::Tensor& sigmas) { return sigmas.to(at::kFloat) * 1000.0; }

at::Tensor velocity_target(const at::Tensor& x0, const at::Tensor& noise) { return noise - x0; }

at::Tensor flow_matching_loss(const at::Tensor& v_pred, const at::Tensor& target) {
  if (!v_pred.sizes().equals(target.sizes())) {
    fail("flow-matching loss: prediction shape {} differs from the target shape {}", shape_string(v_pred.sizes()),
         shape_string(target.sizes()));
  }
  const at::Tensor diff = v_pred.to(at::kFloat) - target.to(at::kFloat);
  return (diff * diff).mean();
}

}  // namespace osp::diffusion
