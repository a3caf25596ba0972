#pragma once
// The HiF8 span kernels behind quant/hif8.h: one scalar and one AVX2 set with identical results.
// Exposed (namespace detail) so that tests can run both on the same data.
#include <ATen/Parallel.h>

#include <cstdint>

namespace osp::quant::detail {

// Runs fn(begin, end) over [0, n) in chunks on LibTorch's intra-op threads.
template <typename Fn>
void parallel_spans(int64_t n, const Fn& fn) {
  constexpr int64_t kGrain = int64_t{1} << 15;
  at::parallel_for(0, n, kGrain, fn);
}

// Mantissa bits kept for input exponent e (docs/quantization.md "Bit-level encoder" step 4): 3 for |e| ≤ 3, 2 for
// |e| ≤ 7, 1 for |e| ≤ 15, 0 in the denormal range.
inline int hif8_mantissa_bits(int e) {
  const int a = e < 0 ? -e : e;
  return a <= 3 ? 3 : a <= 7 ? 2 : a <= 15 ? 1 : 0;
}

// Rounds the magnitude bits `a` (0x34000000 ≤ a ≤ 0x7F800000, i.e. 2^−23 ≤ |x| ≤ Inf) to the
// kept precision: "Bit-level encoder" step 5. The result is the bits of the TA-rounded magnitude; above
// 0x47000000 (2^15) it means overflow (step 7).
inline uint32_t hif8_round_magnitude(uint32_t a) {
  const int e = static_cast<int>(a >> 23) - 127;
  if (e == -23) return 0x34800000u;  // all of [2^−23, 2^−22) becomes 2^−22
  const int sh = 23 - hif8_mantissa_bits(e);
  return (a + (1u << (sh - 1))) & ~((1u << sh) - 1u);
}

// Packs the rounded magnitude bits r (2^−22 ≤ r ≤ 2^15) into the 7-bit p field: "Bit-level encoder" steps 6, 8.
inline uint32_t hif8_pack_magnitude(uint32_t r) {
  const int e = static_cast<int>(r >> 23) - 127;
  const int mb = hif8_mantissa_bits(e);
  const uint32_t m = (r & 0x7FFFFFu) >> (23 - mb);
  if (e <= -16) return static_cast<uint32_t>(e + 23);  // DML: 1…7
  const uint32_t A = static_cast<uint32_t>(e < 0 ? -e : e), Se = e < 0 ? 1u : 0u;
  if (A == 0) return 0x08u | m;
  if (A == 1) return 0x10u | (Se << 3) | m;
  if (A <= 3) return 0x20u | (Se << 4) | ((A - 2) << 3) | m;
  if (A <= 7) return 0x40u | (Se << 4) | ((A - 4) << 2) | m;
  return 0x60u | (Se << 4) | ((A - 8) << 1) | m;
}

// codes[i] = encode(x[i]).
void hif8_encode_scalar(const float* x, uint8_t* codes, int64_t n, bool saturate);
void hif8_encode_avx2(const float* x, uint8_t* codes, int64_t n, bool saturate);

// y[i] = Q(x[i]·scale) / scale; scale = 1 gives Q itself (both operations exact then). y may be x.
void hif8_scaled_round_scalar(const float* x, float* y, int64_t n, float scale, bool saturate);
void hif8_scaled_round_avx2(const float* x, float* y, int64_t n, float scale, bool saturate);

// out[i] = table[codes[i]] (the 256-entry decode table of the format at hand).
void decode_table_scalar(const uint8_t* codes, float* out, int64_t n, const float* table);
void decode_table_avx2(const uint8_t* codes, float* out, int64_t n, const float* table);

// Whether the AVX2 kernels were compiled in and this CPU runs them.
bool hif8_avx2_available();

// Q(x·scale) / scale through LibTorch integer operations (the path for tensors off the CPU; the
// tests run it on the CPU against the kernels above). Returns float32.
at::Tensor hif8_scaled_round_ops(const at::Tensor& x, float scale, bool saturate);

}  // namespace osp::quant::detail
