#pragma once
// bf16 rounding of float32 values kept in float32 storage ("bf16-valued fp32"): the CPU path of the
// bf16 precision mode computes on such values with fp32 kernels (see gemm.h for why).
#include <ATen/ATen.h>

#include <cstdint>
#include <cstring>

namespace osp::nn {

// Nearest bf16 (ties to even) of one float's bits, as float bits; NaN becomes the canonical quiet
// NaN like c10::BFloat16. Branch-free so that loops over it vectorize.
inline uint32_t bf16_round_bits(uint32_t u) {
  const uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) & 0xFFFF0000u;
  const bool is_nan = (u & 0x7FFFFFFFu) > 0x7F800000u;
  return is_nan ? 0x7FC00000u : rounded;
}

// Rounds n floats to bf16 values in place, on the calling thread (for use inside kernels).
inline void round_span_to_bf16(float* data, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, data + i, sizeof u);
    u = bf16_round_bits(u);
    std::memcpy(data + i, &u, sizeof u);
  }
}

// Rounds float32 values to the nearest bf16 value in place (parallel); the dtype stays float32.
// A bf16 tensor is left as it is (already exact).
void round_to_bf16_(at::Tensor& x);

// A copy of `x` as float32 holding bf16 values.
at::Tensor rounded_to_bf16(const at::Tensor& x);

}  // namespace osp::nn
