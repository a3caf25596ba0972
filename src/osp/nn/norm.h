#pragma once
// Normalization layers of the Wan DiT (docs/dit.md "Attention block", "Precision").
#include <ATen/ATen.h>

namespace osp::nn {

// LayerNorm over the last dimension with float32 statistics on the float32-cast input; weight and
// bias [D] optional (norm1/norm2 have none, norm3 has both). Returns float32.
at::Tensor layer_norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, double eps);

// RMSNorm over the full last dimension (all heads together, "rms_norm_across_heads"):
// y = x · rsqrt(mean(x²) + eps) · weight ("Attention block" step 2). With `round_normalized` the normalized
// value is rounded to bf16 before the (float32) weight multiply, as under autocast ("Precision").
// Works in place and returns `x` when x is a contiguous float32 CPU tensor and no autograd graph is
// recorded (nn/autograd.h); otherwise returns a new float32 tensor.
at::Tensor rms_norm(at::Tensor x, const at::Tensor& weight, double eps, bool round_normalized);

}  // namespace osp::nn
