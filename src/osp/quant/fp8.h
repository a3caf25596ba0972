#pragma once
// FP8 E4M3 (OCP "e4m3fn": bias 7, no infinities, NaN = S.1111.111, max 448), the 8-bit format
// NVIDIA hardware computes in: the encoder here, the decoder in io/float8.h (shared with the
// safetensors reader). Encoding rounds to nearest, ties to even, and saturates like the
// "satfinite" conversion of CUDA's __nv_cvt_float_to_fp8: magnitudes above 448 and ±Inf become
// ±448, NaN becomes 0x7F.
#include <ATen/ATen.h>

#include <array>
#include <cstdint>

namespace osp::quant {

constexpr float kFp8E4M3Max = 448.0f;

// The 256 values of E4M3 (io::decode_float8's table).
const std::array<float, 256>& fp8_e4m3_table();

// Code of one float: RNE, |x| beyond 448 (after rounding) and ±Inf → ±448, NaN → 0x7F.
uint8_t fp8_e4m3_encode(float x);

// float32/bf16 tensor → uint8 codes; uint8 codes → float32 or bf16 values.
at::Tensor fp8_e4m3_encode(const at::Tensor& x);
at::Tensor fp8_e4m3_decode(const at::Tensor& codes, at::ScalarType dtype = at::kFloat);

}  // namespace osp::quant
