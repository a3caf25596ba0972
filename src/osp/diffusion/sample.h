#pragma once
// The sampling loop: any sampler on its grid, driven by a velocity callback (the guided DiT forward
// in the pipeline), with progress reported per step.
#include <ATen/ATen.h>

#include <optional>

#include "osp/diffusion/grid.h"
#include "osp/diffusion/sampler.h"
#include "osp/diffusion/velocity.h"

namespace osp {
class Progress;
}

namespace osp::diffusion {

struct SampleOptions {
  SamplerKind sampler = SamplerKind::kUniPC;
  int64_t steps = 50;  // docs/sampling.md "Wan 2.1 defaults"
  double shift = 5.0;  // "Wan 2.1 defaults"
  // The timestep grid; unset: the sampler's official grid (default_grid).
  std::optional<GridKind> grid;
  // dtype of the latent between steps. float32 for Wan; OSP-Next keeps bf16 ("OSP-Next inference defaults"): each update is
  // computed in float32 and rounded to this dtype.
  c10::ScalarType state_dtype = c10::kFloat;
};

// The grid `options` select.
Grid sampling_grid(const SampleOptions& options);

// Integrates from `noise` (the state at σ_0) down to σ_N = 0 and returns the final latent in
// options.state_dtype. Calls `velocity` once per step with the state in state_dtype; `progress`
// (optional) is stepped after each step. Throws osp::Error for invalid options or a velocity of the
// wrong shape.
at::Tensor sample(const at::Tensor& noise, const VelocityFn& velocity, const SampleOptions& options,
                  Progress* progress = nullptr);

}  // namespace osp::diffusion
