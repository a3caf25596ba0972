#include "osp/diffusion/unipc.h"

#include <algorithm>
#include <cmath>

namespace osp::diffusion {
namespace {

// The exponential-integrator quantities of one interval σ_s → σ_t (docs/sampling.md "UniPC solver"), all float32.
struct Interval {
  float h;    // λ(σ_t) − λ(σ_s)
  float hh;   // −h
  float phi;  // expm1(−h)
  float b;    // B(h) = expm1(−h) for the bh2 variant
};

Interval interval(float sigma_s, float sigma_t) {
  Interval in;
  in.h = half_log_snr(sigma_t) - half_log_snr(sigma_s);
  in.hh = -in.h;
  in.phi = std::expm1(in.hh);
  in.b = in.phi;
  return in;
}

}  // namespace

at::Tensor UniPCSampler::advance(int64_t i, const at::Tensor& x_in, const at::Tensor& v) {
  const at::Tensor m = predict_x0(x_in, v, sigma(i));  // "UniPC solver" step 1
  at::Tensor x = i > 0 ? correct(i, m) : x_in;          // "UniPC solver" step 2 (UniC)
  history_.push_back(m);                                // "UniPC solver" step 3
  if (history_.size() > 2) history_.pop_front();
  const int order = static_cast<int>(std::min<int64_t>({2, steps() - i, i + 1}));  // "UniPC solver" step 4
  x_last_ = x;                                          // "UniPC solver" step 5
  order_last_ = order;
  return predict(i, x, order);                          // "UniPC solver" steps 6–7 (UniP)
}

// "UniPC solver" step 2: corrects the sample at σ_i, predicted from x_last at σ_{i−1}, with the model's x0̂ `m`
// at σ_i. m0 = M[−1] is x0̂ at σ_{i−1}; for order 2, m1 = M[−2] is x0̂ at σ_{i−2}.
at::Tensor UniPCSampler::correct(int64_t i, const at::Tensor& m) const {
  const float s_prev = sigma(i - 1), s_now = sigma(i);
  const Interval in = interval(s_prev, s_now);
  const float alpha = 1.0f - s_now;
  const at::Tensor& m0 = history_.back();
  const at::Tensor base = x_last_ * (s_now / s_prev) - m0 * (alpha * in.phi);
  const at::Tensor d1_t = m - m0;
  if (order_last_ == 1) return base - (d1_t * 0.5f) * (alpha * in.b);
  const at::Tensor& m1 = history_.front();
  const float r1 = (half_log_snr(sigma(i - 2)) - half_log_snr(s_prev)) / in.h;
  const at::Tensor d1 = (m1 - m0) / r1;
  // b = (φ_k(h)·k!/B(h)) for k = 1, 2 with φ_1 = φ/hh − 1, φ_2 = φ_1/hh − 1/2 (UniPC's recursion).
  const float k1 = in.phi / in.hh - 1.0f;
  const float b1 = k1 / in.b;
  const float k2 = k1 / in.hh - 0.5f;
  const float b2 = 2.0f * k2 / in.b;
  // Solve [[1, 1], [r1, 1]]·[ρ0, ρ1]ᵀ = [b1, b2]ᵀ.
  const float rho0 = (b1 - b2) / (1.0f - r1);
  const float rho1 = b1 - rho0;
  return base - (d1 * rho0 + d1_t * rho1) * (alpha * in.b);
}

// "UniPC solver" step 6: UniP from the (corrected) sample x at σ_i to σ_{i+1}, using m = M[−1] (x0̂ at σ_i) and,
// for order 2, M[−2] (x0̂ at σ_{i−1}). At σ_{i+1} = 0, λ = +∞ and φ = −1: the update returns m.
at::Tensor UniPCSampler::predict(int64_t i, const at::Tensor& x, int order) const {
  const float s_now = sigma(i), s_next = sigma(i + 1);
  const Interval in = interval(s_now, s_next);
  const float alpha = 1.0f - s_next;
  const at::Tensor& m = history_.back();
  const at::Tensor base = x * (s_next / s_now) - m * (alpha * in.phi);
  if (order == 1) return base;
  const float r1 = (half_log_snr(sigma(i - 1)) - half_log_snr(s_now)) / in.h;
  const at::Tensor d1 = (history_.front() - m) / r1;
  return base - (d1 * 0.5f) * (alpha * in.b);
}

}  // namespace osp::diffusion
