// Internal to the fused CPU attention kernel: the AVX-512F vector type of fused_cpu_kernel.h
// (osp/nn/simd_avx512.h), shared by the AVX-512F, AVX-512 BF16 and AMX translation units. Include
// it only where AVX-512F is the target (after the target pragma), after fused_cpu_kernel.h.
#include "osp/nn/simd_avx512.h"

namespace osp::attention::detail {
using simd::Avx512Vec;
}  // namespace osp::attention::detail
