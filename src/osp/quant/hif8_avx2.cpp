// AVX2 kernels of the HiF8 codec: the bit algorithm of docs/quantization.md "Bit-level encoder" on eight lanes at once,
// with the same integer operations as the scalar code (hif8_kernels.h), so results are
// bit-identical. Compiled with the default flags; only the functions under the target pragma use
// AVX2, and they run only after hif8_avx2_available() checked the CPU.
#include "osp/quant/hif8_kernels.h"

#include <array>

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define OSP_HIF8_AVX2 1
#include <immintrin.h>
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2")
#endif

namespace osp::quant::detail {
namespace {

// The p field of the power of two 2^e for e = −22 … 15 (index e + 22): "Bit-level encoder" step 8 with m = 0.
struct PackBases {
  alignas(32) std::array<int32_t, 38> base;
  PackBases() {
    for (int i = 0; i < 38; ++i) base[i] = static_cast<int32_t>(hif8_pack_magnitude(static_cast<uint32_t>(i - 22 + 127) << 23));
  }
};

const PackBases& pack_bases() {
  static const PackBases bases;
  return bases;
}

// Mantissa bits kept for the exponents in `e` ("Bit-level encoder" step 4): 3 − [|e|>3] − [|e|>7] − [|e|>15].
inline __m256i mantissa_bits(__m256i e) {
  const __m256i ae = _mm256_abs_epi32(e);
  __m256i mb = _mm256_set1_epi32(3);
  mb = _mm256_add_epi32(mb, _mm256_cmpgt_epi32(ae, _mm256_set1_epi32(3)));  // compare = −1 when true
  mb = _mm256_add_epi32(mb, _mm256_cmpgt_epi32(ae, _mm256_set1_epi32(7)));
  return _mm256_add_epi32(mb, _mm256_cmpgt_epi32(ae, _mm256_set1_epi32(15)));
}

inline __m256i exponent_of(__m256i a) { return _mm256_sub_epi32(_mm256_srli_epi32(a, 23), _mm256_set1_epi32(127)); }

// hif8_round_magnitude on eight lanes (a ≤ 0x7F800000 in the lanes whose result is used).
inline __m256i round_magnitude(__m256i a) {
  const __m256i e = exponent_of(a);
  const __m256i sh = _mm256_sub_epi32(_mm256_set1_epi32(23), mantissa_bits(e));
  const __m256i half = _mm256_sllv_epi32(_mm256_set1_epi32(1), _mm256_sub_epi32(sh, _mm256_set1_epi32(1)));
  const __m256i mask = _mm256_sllv_epi32(_mm256_set1_epi32(-1), sh);
  const __m256i r = _mm256_and_si256(_mm256_add_epi32(a, half), mask);
  const __m256i dml_floor = _mm256_cmpeq_epi32(e, _mm256_set1_epi32(-23));
  return _mm256_blendv_epi8(r, _mm256_set1_epi32(0x34800000), dml_floor);
}

// Unsigned a > bound, for bound < 2^31 (NaN magnitudes plus half an ulp may exceed 2^31).
inline __m256i above(__m256i a, uint32_t bound) {
  return _mm256_cmpgt_epi32(_mm256_xor_si256(a, _mm256_set1_epi32(INT32_MIN)),
                            _mm256_set1_epi32(static_cast<int32_t>(bound ^ 0x80000000u)));
}

// Eight codes as int32 lanes ("Bit-level encoder").
inline __m256i encode8(__m256 x, __m256i overflow_p) {
  const __m256i u = _mm256_castps_si256(x);
  const __m256i a = _mm256_and_si256(u, _mm256_set1_epi32(0x7FFFFFFF));
  const __m256i sign = _mm256_and_si256(_mm256_srli_epi32(u, 24), _mm256_set1_epi32(0x80));
  const __m256i r = round_magnitude(a);
  // Steps 6, 8: p = base(e′) | m, the base gathered from the powers of two.
  const __m256i e2 = exponent_of(r);
  const __m256i m = _mm256_srlv_epi32(_mm256_and_si256(r, _mm256_set1_epi32(0x7FFFFF)),
                                      _mm256_sub_epi32(_mm256_set1_epi32(23), mantissa_bits(e2)));
  const __m256i index =
      _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(e2, _mm256_set1_epi32(22)), _mm256_setzero_si256()),
                       _mm256_set1_epi32(37));
  const __m256i base = _mm256_i32gather_epi32(pack_bases().base.data(), index, 4);
  __m256i p = _mm256_or_si256(base, m);
  p = _mm256_blendv_epi8(p, overflow_p, above(r, 0x47000000u));  // steps 3, 7 (and ±Inf inputs)
  __m256i code = _mm256_or_si256(p, sign);
  code = _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(0x34000000), a), code);  // step 2
  return _mm256_blendv_epi8(code, _mm256_set1_epi32(0x80), above(a, 0x7F800000u));        // step 1
}

// Q(x) for eight lanes (hif8_round).
inline __m256 round8(__m256 x, __m256i overflow_bits) {
  const __m256i u = _mm256_castps_si256(x);
  const __m256i a = _mm256_and_si256(u, _mm256_set1_epi32(0x7FFFFFFF));
  const __m256i sign = _mm256_and_si256(u, _mm256_set1_epi32(INT32_MIN));
  __m256i r = round_magnitude(a);
  r = _mm256_blendv_epi8(r, overflow_bits, above(r, 0x47000000u));
  r = _mm256_or_si256(r, sign);
  r = _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(0x34000000), a), r);  // +0
  r = _mm256_blendv_epi8(r, _mm256_set1_epi32(0x7FC00000), above(a, 0x7F800000u));    // NaN
  return _mm256_castsi256_ps(r);
}

}  // namespace

void hif8_encode_avx2(const float* x, uint8_t* codes, int64_t n, bool saturate) {
  const __m256i overflow_p = _mm256_set1_epi32(saturate ? 0x6E : 0x6F);
  // The byte order after the two packs is (0, 4, 1, 5, 2, 6, 3, 7) in 32-bit groups.
  const __m256i unshuffle = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i c0 = encode8(_mm256_loadu_ps(x + i), overflow_p);
    const __m256i c1 = encode8(_mm256_loadu_ps(x + i + 8), overflow_p);
    const __m256i c2 = encode8(_mm256_loadu_ps(x + i + 16), overflow_p);
    const __m256i c3 = encode8(_mm256_loadu_ps(x + i + 24), overflow_p);
    const __m256i bytes = _mm256_packus_epi16(_mm256_packus_epi32(c0, c1), _mm256_packus_epi32(c2, c3));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(codes + i), _mm256_permutevar8x32_epi32(bytes, unshuffle));
  }
  hif8_encode_scalar(x + i, codes + i, n - i, saturate);
}

void hif8_scaled_round_avx2(const float* x, float* y, int64_t n, float scale, bool saturate) {
  const __m256i overflow_bits = _mm256_set1_epi32(saturate ? 0x47000000 : 0x7F800000);
  const __m256 s = _mm256_set1_ps(scale);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 q = round8(_mm256_mul_ps(_mm256_loadu_ps(x + i), s), overflow_bits);
    _mm256_storeu_ps(y + i, _mm256_div_ps(q, s));
  }
  hif8_scaled_round_scalar(x + i, y + i, n - i, scale, saturate);
}

void decode_table_avx2(const uint8_t* codes, float* out, int64_t n, const float* table) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i index = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(codes + i)));
    _mm256_storeu_ps(out + i, _mm256_i32gather_ps(table, index, 4));
  }
  decode_table_scalar(codes + i, out + i, n - i, table);
}

}  // namespace osp::quant::detail

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif  // x86 with GCC/clang

namespace osp::quant::detail {

#if !defined(OSP_HIF8_AVX2)
void hif8_encode_avx2(const float* x, uint8_t* codes, int64_t n, bool saturate) {
  hif8_encode_scalar(x, codes, n, saturate);
}
void hif8_scaled_round_avx2(const float* x, float* y, int64_t n, float scale, bool saturate) {
  hif8_scaled_round_scalar(x, y, n, scale, saturate);
}
void decode_table_avx2(const uint8_t* codes, float* out, int64_t n, const float* table) {
  decode_table_scalar(codes, out, n, table);
}
#endif

bool hif8_avx2_available() {
#if defined(OSP_HIF8_AVX2)
  static const bool available = __builtin_cpu_supports("avx2");
  return available;
#else
  return false;
#endif
}

}  // namespace osp::quant::detail
