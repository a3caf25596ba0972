#pragma once
// Weight deltas that run beside a linear layer's own GEMM (docs/lora.md "Runtime mode"):
//   y = x·Wᵀ + b + Σ_k scale_k · ((x·A_kᵀ)·B_kᵀ + x·D_kᵀ + d_k)
// for every adapter k attached to the layer: a low-rank pair (A [r, in], B [out, r]), a full
// weight delta D [out, in] and a bias delta d [out], each optional. Adapters are not registered
// parameters of the layer: loading, weight sharding and 8-bit codes see the base weights only, and
// one base model can run with different adapters per request.
#include <ATen/ATen.h>

#include <memory>
#include <vector>

#include "osp/core/precision.h"
#include "osp/nn/gemm.h"

namespace osp::nn {

struct LinearAdapter {
  at::Tensor down;    // A [r, in] or undefined
  at::Tensor up;      // B [out, r], defined exactly when `down` is
  at::Tensor diff;    // D [out, in] or undefined
  at::Tensor diff_b;  // d [out] or undefined
  double scale = 1.0;
  // Off: the layer computes as if the adapter were absent (the RL reference policy, "bypass").
  bool enabled = true;
};

using LinearAdapters = std::vector<std::shared_ptr<LinearAdapter>>;

// Adds every enabled adapter's contribution for input `x` ([..., in]) to `y` ([..., out]), under
// the precision policy of gemm.h (each GEMM with bf16 operands in bf16 mode, the sum rounded to
// bf16 once). Returns y unchanged when no adapter is enabled. Differentiable through the
// adapters' tensors when they require grad.
at::Tensor add_adapters(at::Tensor y, const GemmInput& x, const LinearAdapters& adapters, Precision precision);

}  // namespace osp::nn
