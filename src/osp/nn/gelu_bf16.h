#pragma once
// GELU (tanh form) in place on bf16 values with AVX-512F: the FFN's activation, the largest
// element-wise operation of a DiT block (one [L, ffn] tensor per block). LibTorch 1.13's CPU
// kernel for bf16 runs at AVX2 width through a tanh call; this one computes, per element in
// float32, GELU(x) = 0.5·x·(1 + tanh(u)) as x·σ(2u) = x / (1 + 2^(−2u·log₂e)),
// u = √(2/π)·(x + 0.044715·x³), with the vectorised 2^x of simd_exp2.h (relative error ~1e-7
// before the rounding), then rounds to bf16 (nearest even). x ≤ −20 gives 0 (the exact value is
// below the float range there); NaN stays NaN. docs/dit.md "Precision" holds the bf16 rules.
#include <c10/util/BFloat16.h>

#include <cstdint>

namespace osp::nn {

// False when this build or CPU has no AVX-512F (the caller then uses LibTorch's kernel); parallel.
bool gelu_tanh_bf16_inplace(c10::BFloat16* data, int64_t n);

}  // namespace osp::nn
