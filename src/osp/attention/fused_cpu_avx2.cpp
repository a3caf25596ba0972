// The AVX2 + FMA instantiation of the fused CPU attention kernel (fused_cpu_kernel.h). Compiled
// with the default flags; only the functions defined below the target pragma use AVX2, and they
// run only after the dispatcher checked the CPU (fused_cpu.cpp).
#include "osp/attention/fused_cpu_problem.h"

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define OSP_FUSED_AVX2 1
#include <immintrin.h>
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif

#include "osp/attention/fused_cpu_kernel.h"

namespace osp::attention::detail {
namespace {

struct Avx2Vec {
  using Reg = __m256;
  static constexpr int64_t kWidth = 8;
  static Reg zero() { return _mm256_setzero_ps(); }
  static Reg set1(float x) { return _mm256_set1_ps(x); }
  static Reg load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, Reg x) { _mm256_storeu_ps(p, x); }
  static Reg broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
  static Reg add(Reg a, Reg b) { return _mm256_add_ps(a, b); }
  static Reg sub(Reg a, Reg b) { return _mm256_sub_ps(a, b); }
  static Reg mul(Reg a, Reg b) { return _mm256_mul_ps(a, b); }
  static Reg max(Reg a, Reg b) { return _mm256_max_ps(a, b); }
  static Reg min(Reg a, Reg b) { return _mm256_min_ps(a, b); }
  static float reduce_add(Reg a) {
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_shuffle_ps(x, x, 0x55));
    return _mm_cvtss_f32(x);
  }
  static float reduce_max(Reg a) {
    __m128 x = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    x = _mm_max_ps(x, _mm_movehl_ps(x, x));
    x = _mm_max_ss(x, _mm_shuffle_ps(x, x, 0x55));
    return _mm_cvtss_f32(x);
  }
  static Reg round_nearest(Reg a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static Reg pow2_of_integral(Reg n) {
    const __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
  }
  static Reg zero_where_below(Reg x, Reg t, Reg r) { return _mm256_andnot_ps(_mm256_cmp_ps(x, t, _CMP_LT_OQ), r); }
};

}  // namespace

bool fused_avx2_compiled() { return true; }
void fused_run_avx2(const FusedProblem& problem) { run_fused<Avx2Vec>(problem); }

}  // namespace osp::attention::detail

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#else  // no AVX2 build on this compiler / architecture

#include "osp/core/error.h"

namespace osp::attention::detail {
bool fused_avx2_compiled() { return false; }
void fused_run_avx2(const FusedProblem&) { fail("fused_attention: this build has no AVX2 kernel"); }
}  // namespace osp::attention::detail
#endif
