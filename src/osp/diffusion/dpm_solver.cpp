#include "osp/diffusion/dpm_solver.h"

#include <cmath>

namespace osp::diffusion {

at::Tensor DpmPPSampler::advance(int64_t i, const at::Tensor& x, const at::Tensor& v) {
  const at::Tensor m0 = predict_x0(x, v, sigma(i));
  const float s0 = sigma(i), t = sigma(i + 1);
  const float h = half_log_snr(t) - half_log_snr(s0);
  const float alpha_t = 1.0f - t;
  const float decay = alpha_t * (std::exp(-h) - 1.0f);  // α_t·(e^{−h} − 1), as Wan writes it
  // docs/sampling.md "Euler and DPM-Solver++" order 1: x_t = (σ_t/σ_s)·x − α_t(e^{−h} − 1)·m0.
  at::Tensor out = x * (t / s0) - m0 * decay;
  const bool order2 = i > 0 && i < steps() - 1;
  if (order2) {
    // "Euler and DPM-Solver++" order 2 (midpoint): r0 = (λ_s0 − λ_s1)/h, D1 = (m0 − m1)/r0. At i = 1 on a grid starting at
    // σ = 1, λ_s1 = −∞, so r0 = +∞ and D1 = 0, exactly as in the reference.
    const float r0 = (half_log_snr(s0) - half_log_snr(sigma(i - 1))) / h;
    const at::Tensor d1 = (m0 - previous_x0_) * (1.0f / r0);
    out = out - d1 * (0.5f * decay);
  }
  previous_x0_ = m0;
  return out;
}

}  // namespace osp::diffusion
