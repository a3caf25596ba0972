#pragma once
// Rollouts of Mix-GRPO (docs/rl.md "Rollout"): a batch of videos sampled by the current policy (the
// DiT with its LoRA on, no gradient) on the RL grid, the steps of the stochastic window taken as
// SDE steps (noise, log-probability of the sampled next state), the others as Euler ODE steps.
// What the policy update needs is kept: the states x_j … x_{j+T} of the trained steps and the
// log-probabilities under the policy that sampled them.
#include <ATen/ATen.h>
#include <ATen/core/Generator.h>

#include <string>
#include <vector>

#include "osp/diffusion/grid.h"
#include "osp/diffusion/sde_window.h"
#include "osp/models/dit/model.h"
#include "osp/models/dit/text_context.h"

namespace osp::rl {

struct RolloutSchedule {
  diffusion::Grid grid;          // σ_0 … σ_N, t_i = 1000·σ_i
  diffusion::StepWindow sde;     // steps taken as SDE steps
  int64_t trained = 0;           // T_tr: the first T_tr steps of `sde` are trained (stored)

  int64_t first_trained() const { return sde.begin; }
};

// The schedule of N steps with shift `shift`, `sde` the stochastic steps, T_tr = trained.
RolloutSchedule make_schedule(int64_t steps, double shift, diffusion::StepWindow sde, int64_t trained);

struct RolloutBatch {
  std::vector<std::string> prompts;  // [B]
  at::Tensor states;     // [T_tr + 1, B, C, F, H, W] float32: x_j for j = first_trained … + T_tr
  at::Tensor log_probs;  // [T_tr, B] float32: log p(x_{j+1} | x_j) under the sampling policy
  at::Tensor final;      // x_N [B, C, F, H, W] float32
};

// The guided velocity v = v_u + g·(v_c − v_u) of a batch (float32 [B, C, F, H, W]) at model time
// t: `cond` and `uncond` hold the prompts' and negative prompts' contexts ([B, L, D]) and cache
// their cross-attention keys/values across steps. g = 1 runs only the conditional branch.
// `parallel` (optional): the sequence-parallel hook every rank of its groups runs the same call with.
at::Tensor guided_velocity(const dit::WanDiT& model, const at::Tensor& x, double t, dit::TextContext& cond,
                           dit::TextContext& uncond, double guidance, dit::ParallelHook* parallel = nullptr);

// Standard normal float32 [B, ...shape]: row b drawn from generators[b]. Each video owns its
// generator, so its noise does not depend on which rank or batch row it is sampled in.
at::Tensor per_sample_normal(std::vector<at::Generator>& generators, const std::vector<int64_t>& shape);

// One rollout of B videos from `noise` [B, C, F, H, W] (float32) with contexts [B, L, D]; the SDE
// noise of row b comes from generators[b]. Runs without gradient.
RolloutBatch rollout(const dit::WanDiT& model, const at::Tensor& noise, const at::Tensor& cond,
                     const at::Tensor& uncond, const RolloutSchedule& schedule, double guidance,
                     std::vector<at::Generator>& generators, dit::ParallelHook* parallel = nullptr);

// The deterministic ODE sample of the evaluation (Euler on the RL grid, no noise): x_N.
at::Tensor sample_ode(const dit::WanDiT& model, const at::Tensor& noise, const at::Tensor& cond,
                      const at::Tensor& uncond, const diffusion::Grid& grid, double guidance,
                      dit::ParallelHook* parallel = nullptr);

}  // namespace osp::rl
