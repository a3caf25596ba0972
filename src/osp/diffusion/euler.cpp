#include "osp/diffusion/euler.h"

namespace osp::diffusion {

at::Tensor EulerSampler::advance(int64_t i, const at::Tensor& x, const at::Tensor& v) {
  // docs/sampling.md "Euler and DPM-Solver++", as OSP-Next's scheduler step: the float32 difference of float32 sigmas, then x + v·Δσ in float32.
  const float delta = sigma(i + 1) - sigma(i);
  return x + v * delta;
}

}  // namespace osp::diffusion
