#pragma once
// Timestep grids of the official samplers (docs/sampling.md "Wan UniPC grid", "Euler and DPM-Solver++", "OSP-Next inference defaults"). A grid of N steps holds
// the N model timesteps (what the DiT is given) and N + 1 float32 solver sigmas (the last is 0).
#include <cstdint>
#include <string>
#include <vector>

namespace osp::diffusion {

enum class GridKind {
  kWanUniPC,  // "Wan UniPC grid": from σ_max = float32(0.999), float64 shift, t = int64(1000·σ) truncated
  kWanDpm,    // "Euler and DPM-Solver++" DPM++: from σ = 1, float64 shift, t = int64(1000·σ) truncated (t_0 = 1000)
  kOspEuler,  // "OSP-Next inference defaults": float32 linspace(1, 0, N + 1), float32 shift, t = 1000·σ as a float
};

struct Grid {
  GridKind kind = GridKind::kWanUniPC;
  // Model timesteps t_0..t_{N−1} in [0, 1000]. Integral for the Wan grids; the float32 value
  // 1000·σ_i for the OSP-Next grid. float64 holds both exactly.
  std::vector<double> timesteps;
  // Solver sigmas σ_0..σ_N (float32, σ_N = 0).
  std::vector<float> sigmas;

  int64_t steps() const { return static_cast<int64_t>(timesteps.size()); }
};

// Wan's FlowUniPCMultistepScheduler grid ("Wan UniPC grid"). The samplers walk it with step index 0..N−1. "Wan UniPC grid" notes
// that the reference locates its first step by matching t_0 and takes the second occurrence when
// t_0 repeats; with distinct t_i (every default setting; at shift 5 up to N ≈ 250) that is index 0,
// so both agree. Where t_0 = t_1 the reference would start at index 1 and step past the end of its
// sigma table on the last step; we keep index 0..N−1 there instead of reproducing that.
Grid wan_unipc_grid(int64_t steps, double shift);
// Wan's FlowDPMSolverMultistepScheduler grid as text2video.py builds it for `dpm++` ("Euler and DPM-Solver++").
Grid wan_dpm_grid(int64_t steps, double shift);
// The OSP-Next FlowMatchingScheduler inference grid ("OSP-Next inference defaults").
Grid osp_euler_grid(int64_t steps, double shift);
// Dispatches on `kind`. Throws osp::Error for steps < 1 or a shift that is not positive and finite.
Grid make_grid(GridKind kind, int64_t steps, double shift);

// "wan-unipc", "wan-dpm", "osp-euler".
std::string grid_name(GridKind kind);

}  // namespace osp::diffusion
