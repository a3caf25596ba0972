#include "osp/diffusion/sampler.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>

#include "osp/core/error.h"
#include "osp/core/shape.h"
#include "osp/diffusion/dpm_solver.h"
#include "osp/diffusion/euler.h"
#include "osp/diffusion/unipc.h"

namespace osp::diffusion {

const std::vector<std::string>& sampler_names() {
  static const std::vector<std::string> names = {"unipc", "euler", "dpm++"};
  return names;
}

SamplerKind parse_sampler(const std::string& name, const std::string& flag) {
  if (name == "unipc") return SamplerKind::kUniPC;
  if (name == "euler") return SamplerKind::kEuler;
  if (name == "dpm++") return SamplerKind::kDpmPP;
  fail_about(flag, "unknown sampler '{}' (valid: {})", name, fmt::join(sampler_names(), ", "));
}

std::string sampler_name(SamplerKind kind) {
  switch (kind) {
    case SamplerKind::kUniPC: return "unipc";
    case SamplerKind::kEuler: return "euler";
    case SamplerKind::kDpmPP: return "dpm++";
  }
  return "unknown";
}

GridKind default_grid(SamplerKind kind) {
  switch (kind) {
    case SamplerKind::kUniPC: return GridKind::kWanUniPC;
    case SamplerKind::kEuler: return GridKind::kOspEuler;
    case SamplerKind::kDpmPP: return GridKind::kWanDpm;
  }
  return GridKind::kWanUniPC;
}

at::Tensor Sampler::step(int64_t i, const at::Tensor& x, const at::Tensor& v) {
  // Internal invariants (the sampling loop drives this), so plain checks rather than user errors.
  if (i != next_step_) fail("sampler: step {} requested, expected step {} (steps run in order)", i, next_step_);
  if (i >= steps()) fail("sampler: step {} is past the last step {}", i, steps() - 1);
  if (!x.sizes().equals(v.sizes())) {
    fail("sampler: velocity shape {} differs from the latent shape {}", shape_string(v.sizes()),
         shape_string(x.sizes()));
  }
  ++next_step_;
  return advance(i, x.to(at::kFloat), v.to(at::kFloat));
}

std::unique_ptr<Sampler> make_sampler(SamplerKind kind, Grid grid) {
  switch (kind) {
    case SamplerKind::kUniPC: return std::make_unique<UniPCSampler>(std::move(grid));
    case SamplerKind::kEuler: return std::make_unique<EulerSampler>(std::move(grid));
    case SamplerKind::kDpmPP: return std::make_unique<DpmPPSampler>(std::move(grid));
  }
  fail("unknown sampler kind {}", static_cast<int>(kind));
}

float half_log_snr(float sigma) { return std::log(1.0f - sigma) - std::log(sigma); }

at::Tensor predict_x0(const at::Tensor& x, const at::Tensor& v, float sigma) { return x - v * sigma; }

}  // namespace osp::diffusion
