#pragma once
// HiF8 fake quantization (docs/quantization.md "Per-tensor fake quantization" to "Q/K/V fake quantization"): per-tensor scaled quantize-dequantize in the
// forward, straight-through gradients with their own scale in the backward.
#include <ATen/ATen.h>

namespace osp::quant {

// scale_max of the forward and backward passes ("HiF8 configuration fields" defaults: 15 = 0x2F, 224 = 0x4F).
struct FakeQuantSpec {
  double scale_max_forward = 15.0;
  double scale_max_backward = 224.0;
};

// FQ(x, smax) ("Per-tensor fake quantization"): amax = max(max|x| over the whole tensor, 1e-8), scale = smax / amax,
// y = Q(x·scale) / scale with Q the TA quantize-dequantize of "Value-domain rounding" (no saturation). float32: all in
// float32 (one fused pass after the amax); bf16/fp16: the reference dtype chain (amax, scale, x·scale
// and the final division in the tensor's dtype, Q in float32). No autograd (see fake_quant_ste).
at::Tensor fake_quant(const at::Tensor& x, double scale_max);

// FQ with autograd ("Q/K/V fake quantization"): forward FQ(x, forward scale); backward replaces the incoming gradient g
// by FQ(g, backward scale) (straight-through: the quantizer counts as the identity).
at::Tensor fake_quant_ste(const at::Tensor& x, const FakeQuantSpec& spec);

// HIF8Linear ("HIF8Linear") with autograd: y = FQ(x)·FQ(W)ᵀ + b over the last dimension of x [..., in];
// weight [out, in], bias [out] or undefined. Backward: gq = FQ(dy, backward scale), dx = gq·Wq,
// dW = gq₂ᵀ·xq₂ (leading dims flattened), db = Σ_rows gq₂, from the saved dequantized xq, Wq.
// The GEMMs run in the operands' dtype.
at::Tensor hif8_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                       const FakeQuantSpec& spec);

}  // namespace osp::quant
