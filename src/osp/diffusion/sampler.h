#pragma once
// The samplers' common interface: a solver walks a Grid one step at a time, given the (guided)
// velocity at each step (docs/sampling.md "UniPC solver", "Euler and DPM-Solver++"). Samplers are stateful (multistep history), so
// one instance drives one trajectory, steps 0..N−1 in order.
#include <ATen/ATen.h>

#include <memory>
#include <string>
#include <vector>

#include "osp/diffusion/grid.h"

namespace osp::diffusion {

enum class SamplerKind { kUniPC, kEuler, kDpmPP };

// "unipc" | "euler" | "dpm++" → kind; anything else throws osp::Error naming `flag` and listing
// the valid names.
SamplerKind parse_sampler(const std::string& name, const std::string& flag = "--sampler");
std::string sampler_name(SamplerKind kind);
// The valid names in the order of parse_sampler's message.
const std::vector<std::string>& sampler_names();

// The official grid of each solver: UniPC → Wan UniPC grid ("Wan UniPC grid"), DPM++ → Wan DPM grid ("Euler and DPM-Solver++"),
// Euler → OSP-Next grid ("OSP-Next inference defaults", the sampler OSP-Next ships).
GridKind default_grid(SamplerKind kind);

class Sampler {
 public:
  explicit Sampler(Grid grid) : grid_(std::move(grid)) {}
  virtual ~Sampler() = default;

  // Advances the state x at σ_i to σ_{i+1}, given the velocity v predicted at (x, t_i). Both are
  // read as float32 and the result is float32 ("UniPC solver": all tensor arithmetic in fp32). Steps must be
  // taken in order 0..N−1 on one trajectory.
  at::Tensor step(int64_t i, const at::Tensor& x, const at::Tensor& v);

  const Grid& grid() const { return grid_; }

 protected:
  virtual at::Tensor advance(int64_t i, const at::Tensor& x, const at::Tensor& v) = 0;
  float sigma(int64_t i) const { return grid_.sigmas[static_cast<size_t>(i)]; }
  int64_t steps() const { return grid_.steps(); }

 private:
  Grid grid_;
  int64_t next_step_ = 0;
};

// A fresh sampler of `kind` on `grid`.
std::unique_ptr<Sampler> make_sampler(SamplerKind kind, Grid grid);

// λ(σ) = ln(1 − σ) − ln σ in float32 ("UniPC solver"), the half log-SNR in which the exponential integrators
// (UniPC, DPM++) step. λ(0) = +∞ and λ(1) = −∞, which the update formulas rely on.
float half_log_snr(float sigma);

// x0̂ = x − σ·v ("Flow-matching convention"), the data prediction both multistep solvers extrapolate.
at::Tensor predict_x0(const at::Tensor& x, const at::Tensor& v, float sigma);

}  // namespace osp::diffusion
