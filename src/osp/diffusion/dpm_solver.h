#pragma once
// DPM-Solver++ 2M (Wan's `dpm++` option, docs/sampling.md "Euler and DPM-Solver++"): FlowDPMSolverMultistepScheduler with
// algorithm dpmsolver++, midpoint, order 2; order 1 at the first and the last step; no corrector.
#include "osp/diffusion/sampler.h"

namespace osp::diffusion {

class DpmPPSampler : public Sampler {
 public:
  using Sampler::Sampler;

 protected:
  at::Tensor advance(int64_t i, const at::Tensor& x, const at::Tensor& v) override;

 private:
  at::Tensor previous_x0_;  // x0̂ at σ_{i−1}
};

}  // namespace osp::diffusion
