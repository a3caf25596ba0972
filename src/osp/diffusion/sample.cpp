#include "osp/diffusion/sample.h"

#include "osp/core/error.h"
#include "osp/core/progress.h"
#include "osp/core/shape.h"

namespace osp::diffusion {

Grid sampling_grid(const SampleOptions& options) {
  return make_grid(options.grid.value_or(default_grid(options.sampler)), options.steps, options.shift);
}

at::Tensor sample(const at::Tensor& noise, const VelocityFn& velocity, const SampleOptions& options,
                  Progress* progress) {
  if (!noise.defined()) fail("sample: no initial noise");
  std::unique_ptr<Sampler> sampler = make_sampler(options.sampler, sampling_grid(options));
  const Grid& grid = sampler->grid();
  at::Tensor x = noise.to(options.state_dtype);
  for (int64_t i = 0; i < grid.steps(); ++i) {
    const StepInfo info{i, grid.steps(), grid.timesteps[static_cast<size_t>(i)], grid.sigmas[static_cast<size_t>(i)]};
    const at::Tensor v = velocity(x, info);
    if (!v.defined() || !v.sizes().equals(x.sizes())) {
      fail("sample: step {}: the model returned a velocity of shape {} for a latent of shape {}", i,
           v.defined() ? shape_string(v.sizes()) : "(none)", shape_string(x.sizes()));
    }
    x = sampler->step(i, x, v).to(options.state_dtype);
    if (progress != nullptr) progress->step();
  }
  return x;
}

}  // namespace osp::diffusion
