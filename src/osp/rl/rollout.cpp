#include "osp/rl/rollout.h"

#include <ATen/core/grad_mode.h>

#include "osp/core/error.h"
#include "osp/diffusion/sde_step.h"

namespace osp::rl {
namespace {

at::Tensor timesteps(double t, int64_t batch) { return at::full({batch}, t, at::TensorOptions().dtype(at::kFloat)); }

}  // namespace

RolloutSchedule make_schedule(int64_t steps, double shift, diffusion::StepWindow sde, int64_t trained) {
  RolloutSchedule s;
  s.grid = diffusion::rl_grid(steps, shift);
  s.sde = sde;
  s.trained = trained;
  require(sde.begin >= 0 && sde.end <= steps && sde.size() >= 1, "rl: the SDE window [{}, {}) is not inside 0…{}",
          sde.begin, sde.end, steps);
  require(trained >= 1 && trained <= sde.size(), "rl: {} trained steps do not fit the SDE window of {}", trained,
          sde.size());
  return s;
}

at::Tensor guided_velocity(const dit::WanDiT& model, const at::Tensor& x, double t, dit::TextContext& cond,
                           dit::TextContext& uncond, double guidance, dit::ParallelHook* parallel) {
  const at::Tensor tt = timesteps(t, x.size(0));
  const at::Tensor v_c = model.forward(x, tt, cond, parallel).to(at::kFloat);
  if (guidance == 1.0) return v_c;
  const at::Tensor v_u = model.forward(x, tt, uncond, parallel).to(at::kFloat);
  return v_u + guidance * (v_c - v_u);
}

at::Tensor per_sample_normal(std::vector<at::Generator>& generators, const std::vector<int64_t>& shape) {
  std::vector<at::Tensor> rows;
  for (at::Generator& g : generators) rows.push_back(at::normal(0.0, 1.0, shape, g, at::TensorOptions().dtype(at::kFloat)));
  return at::stack(rows);
}

RolloutBatch rollout(const dit::WanDiT& model, const at::Tensor& noise, const at::Tensor& cond,
                     const at::Tensor& uncond, const RolloutSchedule& schedule, double guidance,
                     std::vector<at::Generator>& generators, dit::ParallelHook* parallel) {
  at::NoGradGuard no_grad;
  dit::TextContext cond_text(cond), uncond_text(uncond);
  const int64_t first = schedule.first_trained(), last = first + schedule.trained;  // stored: [first, last]
  std::vector<at::Tensor> states, log_probs;
  at::Tensor x = noise.to(at::kFloat);
  for (int64_t i = 0; i < schedule.grid.steps(); ++i) {
    if (i == first) states.push_back(x);
    const at::Tensor v =
        guided_velocity(model, x, schedule.grid.timesteps[i], cond_text, uncond_text, guidance, parallel);
    const diffusion::SdeCoefficients c = diffusion::sde_coefficients(schedule.grid, i);
    if (schedule.sde.contains(i)) {
      const at::Tensor eps = per_sample_normal(generators, x[0].sizes().vec());
      diffusion::SdeStep step = diffusion::sde_step(x, v, eps, c);
      x = step.next;
      if (i < last) {
        log_probs.push_back(step.log_prob);
        states.push_back(x);
      }
    } else {
      x = diffusion::ode_step(x, v, c);
    }
  }
  RolloutBatch batch;
  batch.states = at::stack(states);
  batch.log_probs = at::stack(log_probs);
  batch.final = x;
  return batch;
}

at::Tensor sample_ode(const dit::WanDiT& model, const at::Tensor& noise, const at::Tensor& cond,
                      const at::Tensor& uncond, const diffusion::Grid& grid, double guidance,
                      dit::ParallelHook* parallel) {
  at::NoGradGuard no_grad;
  dit::TextContext cond_text(cond), uncond_text(uncond);
  at::Tensor x = noise.to(at::kFloat);
  for (int64_t i = 0; i < grid.steps(); ++i) {
    const at::Tensor v = guided_velocity(model, x, grid.timesteps[i], cond_text, uncond_text, guidance, parallel);
    x = diffusion::ode_step(x, v, diffusion::sde_coefficients(grid, i));
  }
  return x;
}

}  // namespace osp::rl
