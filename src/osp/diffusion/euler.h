#pragma once
// Flow Euler (docs/sampling.md "Euler and DPM-Solver++", the OSP-Next sampler): x_{i+1} = x_i + (σ_{i+1} − σ_i)·v_i.
#include "osp/diffusion/sampler.h"

namespace osp::diffusion {

class EulerSampler : public Sampler {
 public:
  using Sampler::Sampler;

 protected:
  at::Tensor advance(int64_t i, const at::Tensor& x, const at::Tensor& v) override;
};

}  // namespace osp::diffusion
