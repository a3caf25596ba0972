#pragma once
// 8-bit weights: per-output-channel scaled codes of a linear weight, in HiF8 or FP8 E4M3.
// Convention (the `osp quantize` file format, docs/quantization.md): for output channel c,
//   scale[c] = max(amax_c, 1e-8) / target,  code = encode_TA(weight / scale[c]),
//   weight ≈ decode(code) · scale[c],
// so the channel's largest magnitude maps to `target` (HiF8: 15, the top of the 3-mantissa-bit
// range, docs/quantization.md "HiF8 configuration fields"; FP8 E4M3: 448, its largest value).
#include <ATen/ATen.h>

#include <array>
#include <string>

#include "osp/io/dtype.h"

namespace osp::quant {

enum class WeightFormat { kHiF8, kFp8E4M3 };

// "hif8", "fp8-e4m3".
const char* format_name(WeightFormat format);
// Parses a format name; osp::Error naming `flag` otherwise.
WeightFormat parse_weight_format(const std::string& text, const std::string& flag = "--format");
// The amax target of the format (15 for HiF8, 448 for FP8 E4M3).
double default_target(WeightFormat format);
// `target` when positive, else the default; osp::Error naming --target above the format's largest
// finite value.
double resolve_target(WeightFormat format, double target);
// The 256 decoded values of the format.
const std::array<float, 256>& value_table(WeightFormat format);
// The safetensors dtype the codes are stored as: U8 (HiF8 has no safetensors dtype) or F8_E4M3.
io::DType storage_dtype(WeightFormat format);

struct QuantizedWeight {
  WeightFormat format = WeightFormat::kHiF8;
  at::Tensor codes;  // uint8 [out, in]
  at::Tensor scale;  // float32 [out]

  int64_t out_features() const { return codes.size(0); }
  int64_t in_features() const { return codes.size(1); }
  // Bytes held: one per weight plus four per channel.
  int64_t bytes() const { return codes.numel() + scale.numel() * 4; }
};

// Checks the pair read from a file or built by hand: codes uint8 [out, in], scale [out] finite
// and positive. Throws osp::Error naming `name`.
void validate(const QuantizedWeight& weight, const std::string& name);

// Quantizes a dense [out, in] weight per output channel with the convention above (`target` ≤ 0:
// the format's default).
QuantizedWeight quantize_weight(const at::Tensor& weight, WeightFormat format, double target = 0.0);

// decode(codes) · scale as a dense [out, in] tensor in `dtype` (product in float32, then cast).
at::Tensor dequantize(const QuantizedWeight& weight, at::ScalarType dtype = at::kFloat);

// y = x·Ŵᵀ + bias with Ŵ = dequantize(weight) rounded to bf16 values when `bf16_weight`, for
// x [M, in] in float32 or bf16 (the GEMM runs in x's dtype, bias must be in x's dtype or undefined).
// On the CPU the codes are decoded through the 256-entry table one tile of output channels at a
// time (a few MiB), each tile multiplied straight into its columns of y, so the dense weight never
// exists whole; elsewhere the weight is dequantized just in time.
at::Tensor dequant_linear(const at::Tensor& x, const QuantizedWeight& weight, const at::Tensor& bias,
                          bool bf16_weight);

}  // namespace osp::quant
