#pragma once
// The stochastic rollout step of Mix-GRPO reinforcement learning (docs/rl.md "Sigma grid" and "SDE
// step and its log-probability"): the flow ODE x′ = x + dt·v turned into an SDE whose Gaussian
// transition x_i → x_{i+1} has a closed-form log-density, so that the policy (the DiT's guided
// velocity) can be trained with a likelihood ratio. All arithmetic is float32, tensors and scalars.
#include <ATen/ATen.h>

#include <cstdint>

#include "osp/diffusion/grid.h"

namespace osp::diffusion {

// The rollout grid: float32 linspace(1, 0, N + 1), each point shifted by s·σ/(1 + (s − 1)·σ) in
// float32 (s = 1 is the identity), model timestep t_i = 1000·σ_i as a float. This is exactly the
// OSP-Next Euler grid (osp_euler_grid), named here so that the RL code says which grid it means.
// osp::Error for steps < 1 or a shift that is not positive and finite.
Grid rl_grid(int64_t steps, double shift = 1.0);

// The float32 scalars of step i of a grid (docs/rl.md "SDE step and its log-probability").
struct SdeCoefficients {
  int64_t index = 0;        // i
  float sigma = 0.0f;       // σ_i (> 0 for every i < N)
  float dt = 0.0f;          // σ_{i+1} − σ_i (< 0)
  float std = 0.0f;         // σ_min + (σ_max − σ_min)·σ_i with σ_max = σ_0, σ_min = σ_N: equals σ_i
  float noise_scale = 0.0f; // std·√(−dt): the standard deviation of the transition
  bool last = false;        // i = N − 1: the SDE step adds no noise there
};

// Coefficients of step i (0 ≤ i < N) of `grid`; osp::Error for an index out of range or a grid
// whose σ_i is not positive or whose dt is not negative (the density would be undefined).
SdeCoefficients sde_coefficients(const Grid& grid, int64_t i);

// The transition mean μ = x·(1 + std²·dt/(2σ)) + v·(1 + std²·(1 − σ)/(2σ))·dt in float32.
// x, v: [B, C, F, H, W] (any shape, equal); read as float32; gradients flow through v (and x).
at::Tensor sde_mean(const at::Tensor& x, const at::Tensor& v, const SdeCoefficients& c);

// A sample of the transition: μ + std·√(−dt)·ε, or μ itself on the last step (where `noise` may be
// undefined). noise ε: float32 N(0, I) of μ's shape, drawn fresh per step by the caller (so that
// all sequence-parallel ranks can share it).
at::Tensor sde_sample(const at::Tensor& mean, const at::Tensor& noise, const SdeCoefficients& c);

// The Euler (ODE) step x + dt·v, used for the steps outside the SDE window. Same shapes as sde_mean.
at::Tensor ode_step(const at::Tensor& x, const at::Tensor& v, const SdeCoefficients& c);

// log p(target | μ) per sample: the Gaussian log-density with standard deviation std·√(−dt),
// averaged (mean, not sum) over all non-batch elements. target: [B, ...] like `mean`; it is
// detached (no gradient flows into it), gradients flow through `mean`. Returns [B] float32.
at::Tensor sde_log_prob(const at::Tensor& target, const at::Tensor& mean, const SdeCoefficients& c);

// One rollout step: μ, the sampled x′ (μ on the last step) and log p(x′ | μ).
struct SdeStep {
  at::Tensor next;      // x′ [B, ...] float32
  at::Tensor mean;      // μ  [B, ...] float32
  at::Tensor log_prob;  // [B] float32
};
SdeStep sde_step(const at::Tensor& x, const at::Tensor& v, const at::Tensor& noise, const SdeCoefficients& c);

}  // namespace osp::diffusion
