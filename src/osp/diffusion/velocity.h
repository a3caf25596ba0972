#pragma once
// The velocity callback through which the sampling loop asks the model (the DiT forward, plugged in
// by the pipeline; an analytic field in tests) for v ≈ ε − x0 at the current state.
#include <ATen/ATen.h>

#include <cstdint>
#include <functional>

namespace osp::diffusion {

struct StepInfo {
  int64_t index = 0;       // step i of N
  int64_t steps = 0;       // N
  double timestep = 0.0;   // the model timestep t_i (docs/sampling.md "Wan UniPC grid" / "OSP-Next inference defaults")
  float sigma = 0.0f;      // the solver's σ_i
};

// Returns v with x's shape for the state x at `step`.
using VelocityFn = std::function<at::Tensor(const at::Tensor& x, const StepInfo& step)>;

}  // namespace osp::diffusion
