#include "osp/diffusion/sde_step.h"

#include <cmath>

#include "osp/core/error.h"
#include "osp/core/shape.h"

namespace osp::diffusion {
namespace {

// ln √(2π) as the reference evaluates it: float32 2π, float32 square root and logarithm.
float log_sqrt_two_pi() {
  const float two_pi = 2.0f * static_cast<float>(M_PI);
  return std::log(std::sqrt(two_pi));
}

// Mean over every dimension but the first: [B, ...] → [B]. A [B] tensor is returned as it is.
at::Tensor mean_per_sample(const at::Tensor& t) {
  if (t.dim() <= 1) return t;
  return t.reshape({t.size(0), -1}).mean(1);
}

void require_same_shape(const at::Tensor& a, const at::Tensor& b, const char* what) {
  require(a.defined() && b.defined(), "{}: a tensor is missing", what);
  if (a.sizes() != b.sizes()) {
    fail("{}: shapes {} and {} differ", what, shape_string(a.sizes()), shape_string(b.sizes()));
  }
}

}  // namespace

Grid rl_grid(int64_t steps, double shift) { return osp_euler_grid(steps, shift); }

SdeCoefficients sde_coefficients(const Grid& grid, int64_t i) {
  const int64_t n = grid.steps();
  require(i >= 0 && i < n, "SDE step index {} is outside 0..{}", i, n - 1);
  require(static_cast<int64_t>(grid.sigmas.size()) == n + 1, "SDE step: the grid has {} sigmas for {} steps",
          grid.sigmas.size(), n);
  SdeCoefficients c;
  c.index = i;
  c.sigma = grid.sigmas[static_cast<size_t>(i)];
  c.dt = grid.sigmas[static_cast<size_t>(i + 1)] - c.sigma;
  const float sigma_max = grid.sigmas.front();
  const float sigma_min = grid.sigmas.back();
  c.std = sigma_min + (sigma_max - sigma_min) * c.sigma;
  c.noise_scale = c.std * std::sqrt(-c.dt);
  c.last = i == n - 1;
  // σ_i > 0 and dt < 0 keep the division by σ and the log-density defined.
  require(c.sigma > 0.0f && c.dt < 0.0f && c.noise_scale > 0.0f,
          "SDE step {}: needs σ_i > 0 and σ_(i+1) < σ_i, got σ_i = {}, σ_(i+1) = {}", i, c.sigma, c.sigma + c.dt);
  return c;
}

at::Tensor sde_mean(const at::Tensor& x, const at::Tensor& v, const SdeCoefficients& c) {
  require_same_shape(x, v, "SDE mean: x and v");
  // The scalars in float32, in the order the reference evaluates them on 0-d float32 tensors.
  const float std_sq = c.std * c.std;
  const float x_coef = 1.0f + std_sq / (2.0f * c.sigma) * c.dt;
  const float v_coef = 1.0f + std_sq * (1.0f - c.sigma) / (2.0f * c.sigma);
  return x.to(at::kFloat) * x_coef + v.to(at::kFloat) * v_coef * c.dt;
}

at::Tensor sde_sample(const at::Tensor& mean, const at::Tensor& noise, const SdeCoefficients& c) {
  // No noise on the last step: what it would add at σ_N = 0 could never be removed again.
  if (c.last) return mean;
  require_same_shape(mean, noise, "SDE sample: mean and noise");
  return mean + noise.to(at::kFloat) * c.noise_scale;
}

at::Tensor ode_step(const at::Tensor& x, const at::Tensor& v, const SdeCoefficients& c) {
  require_same_shape(x, v, "ODE step: x and v");
  return x.to(at::kFloat) + v.to(at::kFloat) * c.dt;
}

at::Tensor sde_log_prob(const at::Tensor& target, const at::Tensor& mean, const SdeCoefficients& c) {
  require_same_shape(target, mean, "SDE log-probability: target and mean");
  require(mean.dim() >= 1, "SDE log-probability: the mean needs a batch dimension");
  const at::Tensor diff = target.detach().to(at::kFloat) - mean;
  const float two_variance = 2.0f * (c.noise_scale * c.noise_scale);
  const at::Tensor log_density = -(diff * diff) / two_variance - std::log(c.noise_scale) - log_sqrt_two_pi();
  return mean_per_sample(log_density);
}

SdeStep sde_step(const at::Tensor& x, const at::Tensor& v, const at::Tensor& noise, const SdeCoefficients& c) {
  SdeStep step;
  step.mean = sde_mean(x, v, c);
  step.next = sde_sample(step.mean, noise, c);
  step.log_prob = sde_log_prob(step.next, step.mean, c);
  return step;
}

}  // namespace osp::diffusion
