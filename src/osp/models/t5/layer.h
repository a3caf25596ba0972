#pragma once
// One umT5 block's two sub-layers (docs/text-encoder.md "Self-attention", "Gated-GELU feed-forward"), on float32 storage: in bf16 mode the
// inputs hold bf16 values and every result is rounded to bf16 like the reference's bf16 ops.
#include <ATen/ATen.h>

#include "osp/core/precision.h"
#include "osp/models/t5/config.h"
#include "osp/models/t5/weights.h"

namespace osp::t5 {

// Self-attention of x [B, L, d_model] (already normalized): no 1/√d scaling, logits + β
// ([N, L, L] position bias), keys with key_valid false replaced by the most negative finite value
// (bf16's in bf16 mode), softmax in float32. key_valid: bool [B, L]. Returns [B, L, d_model].
at::Tensor self_attention(const at::Tensor& x, const T5LayerWeights& w, const at::Tensor& bias,
                          const at::Tensor& key_valid, const T5Config& config, Precision precision);

// Gated-GELU FFN: fc2((fc1·x) ⊙ GELU_tanh(gate·x)); GELU evaluated in float32 and rounded once
// ("Encoder precision"). Returns [B, L, d_model].
at::Tensor gated_gelu_ffn(const at::Tensor& x, const T5LayerWeights& w, Precision precision);

// T5 layer norm ("T5 RMS norm"): x · rsqrt(mean(x²) + eps) in float32, rounded to bf16 in bf16 mode,
// times the weight (rounded again). Leaves x untouched.
at::Tensor t5_norm(const at::Tensor& x, const at::Tensor& weight, double eps, Precision precision);

// x += y, rounded to bf16 in bf16 mode (the bf16 residual stream, "Encoder precision"). In place on x.
void residual_add_(at::Tensor& x, const at::Tensor& y, Precision precision);

}  // namespace osp::t5
