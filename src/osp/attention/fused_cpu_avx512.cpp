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
#include "osp/attention/fused_cpu_avx512_vec.h"

namespace osp::attention::detail {

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
