#pragma once
// FlowUniPC, bh2, data (x0) prediction, solver order 2 — the Wan 2.1 default solver
// (docs/sampling.md "UniPC solver"): a UniC corrector of the previous step from the new model output (no extra
// model evaluation), then a UniP predictor; order 1 at the first and last steps.
#include <deque>

#include "osp/diffusion/sampler.h"

namespace osp::diffusion {

class UniPCSampler : public Sampler {
 public:
  using Sampler::Sampler;

 protected:
  at::Tensor advance(int64_t i, const at::Tensor& x, const at::Tensor& v) override;

 private:
  at::Tensor correct(int64_t i, const at::Tensor& m) const;
  at::Tensor predict(int64_t i, const at::Tensor& x, int order) const;

  std::deque<at::Tensor> history_;  // M: x0̂ at σ_{i−1} (back) and σ_{i−2} (front), at most two
  at::Tensor x_last_;               // the sample the previous predictor started from
  int order_last_ = 0;              // the previous predictor's order
};

}  // namespace osp::diffusion
