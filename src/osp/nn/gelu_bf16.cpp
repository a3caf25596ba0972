// The AVX-512F GELU of gelu_bf16.h. Compiled with the default flags; only the functions below the
// target pragma use AVX-512, and they run only after the CPU check.
#include "osp/nn/gelu_bf16.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,fma")
// GCC 12 flags its own _mm512_undefined_* placeholders inside the intrinsics headers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "osp/nn/simd_avx512.h"
#include "osp/nn/simd_exp2.h"

namespace osp::nn {
namespace {

using V = simd::Avx512Vec;

// 16 bf16 values (as 16-bit words) through GELU, rounded back to bf16.
__m256i gelu_16(__m256i words) {
  const __m512 x = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(words), 16));
  const __m512 x2 = _mm512_mul_ps(x, x);
  constexpr float kSqrt2OverPi = 0.7978845608028654f, kCubic = 0.044715f, kLog2e = 1.4426950408889634f;
  const __m512 u = _mm512_mul_ps(x, _mm512_fmadd_ps(x2, _mm512_set1_ps(kSqrt2OverPi * kCubic), _mm512_set1_ps(kSqrt2OverPi)));
  const __m512 e = simd::exp2_poly<V>(_mm512_mul_ps(u, _mm512_set1_ps(-2.0f * kLog2e)));
  __m512 y = _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
  y = V::zero_where_below(x, _mm512_set1_ps(-20.0f), y);
  // Round to nearest even on the bits; NaN becomes the canonical quiet NaN (nn::bf16_round_bits).
  const __m512i bits = _mm512_castps_si512(y);
  const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(bits, _mm512_add_epi32(odd, _mm512_set1_epi32(0x7FFF))), 16);
  rounded = _mm512_mask_mov_epi32(rounded, _mm512_cmp_ps_mask(y, y, _CMP_UNORD_Q), _mm512_set1_epi32(0x7FC0));
  return _mm512_cvtepi32_epi16(rounded);
}

void gelu_range(uint16_t* data, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i in = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(data + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(data + i), gelu_16(in));
  }
  if (i < n) {  // the tail through a zero-padded buffer: the same arithmetic as the full vectors
    uint16_t buffer[16] = {};
    std::memcpy(buffer, data + i, static_cast<size_t>(n - i) * sizeof(uint16_t));
    const __m256i out = gelu_16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(buffer)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(buffer), out);
    std::memcpy(data + i, buffer, static_cast<size_t>(n - i) * sizeof(uint16_t));
  }
}

}  // namespace

bool gelu_tanh_bf16_inplace(c10::BFloat16* data, int64_t n) {
  if (!__builtin_cpu_supports("avx512f")) return false;
  auto* words = reinterpret_cast<uint16_t*>(data);
  at::parallel_for(0, n, int64_t{1} << 16, [&](int64_t begin, int64_t end) { gelu_range(words + begin, end - begin); });
  return true;
}

}  // namespace osp::nn

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#else  // no AVX-512 build on this compiler / architecture

namespace osp::nn {
bool gelu_tanh_bf16_inplace(c10::BFloat16*, int64_t) { return false; }
}  // namespace osp::nn
#endif
