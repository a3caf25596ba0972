#include "osp/diffusion/grid.h"

#include <cmath>

#include "osp/core/error.h"
#include "osp/diffusion/shift.h"

namespace osp::diffusion {
namespace {

// docs/sampling.md "Wan UniPC grid" step 4 and "Euler and DPM-Solver++": the model timestep is 1000·σ truncated toward zero, from the float64 σ.
double truncated_timestep(double sigma) { return static_cast<double>(static_cast<int64_t>(1000.0 * sigma)); }

// "Wan UniPC grid" step 5 / "Euler and DPM-Solver++": float32 solver sigmas with a final σ_N = 0.
std::vector<float> solver_sigmas(const std::vector<double>& sigmas) {
  std::vector<float> out(sigmas.begin(), sigmas.end());
  out.push_back(0.0f);
  return out;
}

// Wan grids: float64 shifted sigmas → truncated timesteps and float32 solver sigmas.
Grid wan_grid(GridKind kind, const std::vector<double>& shifted) {
  Grid grid;
  grid.kind = kind;
  for (double sigma : shifted) grid.timesteps.push_back(truncated_timestep(sigma));
  grid.sigmas = solver_sigmas(shifted);
  return grid;
}

// torch.linspace(start, end, n) in float32 as ATen's CPU kernel computes it: the first half
// counts up from `start`, the second half down from `end`, with a float32 step.
std::vector<float> linspace_f32(float start, float end, int64_t n) {
  std::vector<float> out(static_cast<size_t>(n));
  if (n == 1) {
    out[0] = start;
    return out;
  }
  const float step = (end - start) / static_cast<float>(n - 1);
  const int64_t halfway = n / 2;
  for (int64_t i = 0; i < n; ++i) {
    out[static_cast<size_t>(i)] =
        i < halfway ? start + step * static_cast<float>(i) : end - step * static_cast<float>(n - i - 1);
  }
  return out;
}

void check_grid_arguments(int64_t steps, double shift) {
  if (steps < 1) fail_about("--steps", "must be at least 1, got {}", steps);
  if (!(std::isfinite(shift) && shift > 0.0)) fail_about("--shift", "must be a positive number, got {}", shift);
}

}  // namespace

Grid wan_unipc_grid(int64_t steps, double shift) {
  check_grid_arguments(steps, shift);
  // "Wan UniPC grid" step 1: σ_base = float32(1 − α) with α = linspace(1, 1/1000, 1000) reversed.
  const double sigma_max = static_cast<double>(static_cast<float>(1.0 - 1.0 / 1000.0));
  const double sigma_min = 0.0;
  const double delta = (sigma_min - sigma_max) / static_cast<double>(steps);
  std::vector<double> shifted;
  for (int64_t i = 0; i < steps; ++i) {
    const double sigma = static_cast<double>(i) * delta + sigma_max;  // "Wan UniPC grid" step 2 (numpy linspace)
    shifted.push_back(shift_sigma(sigma, shift));                     // "Wan UniPC grid" step 3
  }
  return wan_grid(GridKind::kWanUniPC, shifted);
}

Grid wan_dpm_grid(int64_t steps, double shift) {
  check_grid_arguments(steps, shift);
  // "Euler and DPM-Solver++": σ_i = shift(linspace(1, 0, N + 1)[i]) for i < N in float64 (Wan's get_sampling_sigmas);
  // the scheduler's own shift is 1 (the identity).
  const double delta = -1.0 / static_cast<double>(steps);
  std::vector<double> shifted;
  for (int64_t i = 0; i < steps; ++i) shifted.push_back(shift_sigma(static_cast<double>(i) * delta + 1.0, shift));
  return wan_grid(GridKind::kWanDpm, shifted);
}

Grid osp_euler_grid(int64_t steps, double shift) {
  check_grid_arguments(steps, shift);
  // "OSP-Next inference defaults": float32 linspace(1, 0, N + 1), shifted in float32 on all points, t = 1000·σ (float32).
  Grid grid;
  grid.kind = GridKind::kOspEuler;
  const float shift_f = static_cast<float>(shift);
  for (float sigma : linspace_f32(1.0f, 0.0f, steps + 1)) grid.sigmas.push_back(shift_sigma_f32(sigma, shift_f));
  for (int64_t i = 0; i < steps; ++i) {
    grid.timesteps.push_back(static_cast<double>(grid.sigmas[static_cast<size_t>(i)] * 1000.0f));
  }
  return grid;
}

Grid make_grid(GridKind kind, int64_t steps, double shift) {
  switch (kind) {
    case GridKind::kWanUniPC: return wan_unipc_grid(steps, shift);
    case GridKind::kWanDpm: return wan_dpm_grid(steps, shift);
    case GridKind::kOspEuler: return osp_euler_grid(steps, shift);
  }
  fail("unknown grid kind {}", static_cast<int>(kind));
}

std::string grid_name(GridKind kind) {
  switch (kind) {
    case GridKind::kWanUniPC: return "wan-unipc";
    case GridKind::kWanDpm: return "wan-dpm";
    case GridKind::kOspEuler: return "osp-euler";
  }
  return "unknown";
}

}  // namespace osp::diffusion
