#pragma once
// HiF8 (HiFloat8): the exact codec of docs/quantization.md. One byte per value: sign, a prefix-coded
// "dot" field selecting 4/3/2/1/0 exponent bits, the exponent in sign-magnitude, then 1–3
// mantissa bits ("HiF8 bit layout"). Encoding rounds to nearest with ties away from zero (TA, "HiF8 encoding") and overflows
// to ±Inf, or to ±32768 with `saturate` ("Overflow, underflow and saturation").
//
// Tensor functions run the AVX2 kernels when the CPU has them (runtime dispatch) and otherwise the
// scalar loop; the two are bit-identical (tests/hif8_test.cpp checks 10^6 values). Tensors on
// other devices go through LibTorch operations (same results).
#include <ATen/ATen.h>

#include <array>
#include <cstdint>

namespace osp::quant {

// Largest finite magnitude 2^15 (code 0x6E) and the overflow threshold 1.25·2^15 ("HiF8 value range", "Overflow, underflow and saturation").
constexpr float kHiF8Max = 32768.0f;
constexpr float kHiF8OverflowThreshold = 40960.0f;
constexpr uint8_t kHiF8NaN = 0x80;
constexpr uint8_t kHiF8PosInf = 0x6F;
constexpr uint8_t kHiF8NegInf = 0xEF;

// The 256 decoded values ("HiF8 decoding"), built once with the decode procedure of "HiF8 decoding".
const std::array<float, 256>& hif8_table();

// Value of one code ("HiF8 decoding").
inline float hif8_decode(uint8_t code) { return hif8_table()[code]; }

// Code of one float ("Bit-level encoder", bit-level TA rounding). bf16/fp16 inputs: convert to float first.
uint8_t hif8_encode(float x, bool saturate = false);

// Q(x) = decode(encode(x)) computed directly ("Value-domain rounding"): the nearest HiF8 value, ties away from zero;
// |x| < 2^−23 gives +0, overflow gives ±Inf (±32768 with `saturate`), NaN stays NaN.
float hif8_round(float x, bool saturate = false);

// float32 or bf16 tensor → uint8 codes of the same shape.
at::Tensor hif8_encode(const at::Tensor& x, bool saturate = false);

// uint8 codes → values in `dtype` (float32 or bf16; every HiF8 value is exact in both).
at::Tensor hif8_decode(const at::Tensor& codes, at::ScalarType dtype = at::kFloat);

// Q elementwise, in the tensor's dtype (float32 or bf16).
at::Tensor hif8_round(const at::Tensor& x, bool saturate = false);

// Q(x·scale) / scale elementwise in float32 (the inner step of fake quantization, "Per-tensor fake quantization"): the
// product and the quotient are single float32 operations, like the reference's tensor ops.
at::Tensor hif8_scaled_round(const at::Tensor& x, float scale, bool saturate = false);

// Which kernels the tensor functions use on this CPU: "avx2" or "scalar".
const char* hif8_cpu_kernel();

}  // namespace osp::quant
