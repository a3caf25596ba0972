// The AVX-512F instantiation of the fused CPU attention kernel (fused_cpu_kernel.h). Compiled
// with the default flags; only the functions defined below the target pragma use AVX-512, and they
// run only after the dispatcher checked the CPU (fused_cpu.cpp).
#include "osp/attention/fused_cpu_problem.h"

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define OSP_FUSED_AVX512 1
#include <immintrin.h>
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,fma")
// GCC 12 flags its own _mm512_undefined_* placeholders inside the intrinsics headers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "osp/attention/fused_cpu_kernel.h"

namespace osp::attention::detail {
namespace {

struct Avx512Vec {
  using Reg = __m512;
  static constexpr int64_t kWidth = 16;
  static Reg zero() { return _mm512_setzero_ps(); }
  static Reg set1(float x) { return _mm512_set1_ps(x); }
  static Reg load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, Reg x) { _mm512_storeu_ps(p, x); }
  static Reg broadcast(const float* p) { return _mm512_set1_ps(*p); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  static Reg add(Reg a, Reg b) { return _mm512_add_ps(a, b); }
  static Reg sub(Reg a, Reg b) { return _mm512_sub_ps(a, b); }
  static Reg mul(Reg a, Reg b) { return _mm512_mul_ps(a, b); }
  static Reg max(Reg a, Reg b) { return _mm512_max_ps(a, b); }
  static Reg min(Reg a, Reg b) { return _mm512_min_ps(a, b); }
  static float reduce_add(Reg a) { return _mm512_reduce_add_ps(a); }
  static float reduce_max(Reg a) { return _mm512_reduce_max_ps(a); }
  static Reg round_nearest(Reg a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static Reg pow2_of_integral(Reg n) {
    const __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
  }
  static Reg zero_where_below(Reg x, Reg t, Reg r) {
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, t, _CMP_NLT_UQ), r);
  }
};

}  // namespace

bool fused_avx512_compiled() { return true; }
void fused_run_avx512(const FusedProblem& problem) { run_fused<Avx512Vec>(problem); }

}  // namespace osp::attention::detail

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#else  // no AVX-512 build on this compiler / architecture

#include "osp/core/error.h"

namespace osp::attention::detail {
bool fused_avx512_compiled() { return false; }
void fused_run_avx512(const FusedProblem&) { fail("fused_attention: this build has no AVX-512 kernel"); }
}  // namespace osp::attention::detail
#endif
