#pragma once
// adaLN modulation helpers of the Wan DiT (docs/dit.md "Attention block" table, head "Forward pass" step 5).
#include <ATen/ATen.h>

namespace osp::nn {

// LN(x)·(1 + scale) + shift with LN = LayerNorm over D without affine, float32 statistics;
// x [B, L, D], shift/scale [B, D] float32. Returns a new float32 [B, L, D] tensor.
// `round_norm_to_bf16`: the normalized value is rounded to bf16 before modulation — the official
// LayerNorm casts its result back to the input dtype, which is bf16 only for block 0's norm1
// (its input is the bf16 patch embedding, "Precision").
at::Tensor modulated_layer_norm(const at::Tensor& x, const at::Tensor& shift, const at::Tensor& scale, double eps,
                                bool round_norm_to_bf16);

// x += y · gate in float32 (residual with gate, "Attention block" steps 3 and 6); x [B, L, D] float32,
// y [B, L, D], gate [B, D]. In place; while an autograd graph is recorded (nn/autograd.h) `x` is
// replaced by the new sum instead (the norms that read x saved it for their backward).
void add_gated_(at::Tensor& x, const at::Tensor& y, const at::Tensor& gate);

// x += y in float32 (the ungated cross-attention residual, "Attention block" step 4), in place or, while a
// graph is recorded, by replacing `x` like add_gated_.
void add_residual_(at::Tensor& x, const at::Tensor& y);

}  // namespace osp::nn
