#pragma once
// Fused CPU attention: flash-attention style (online softmax over key tiles, the [Lq, Lk] score
// matrix is never materialized), float32 accumulation, threads over batch × heads × query tiles,
// SIMD micro-kernels for the two matrix products (scalar, AVX2+FMA, AVX-512, AVX-512 BF16, AMX chosen
// at run time).
// Peak extra memory: K and V of a group of heads packed as float32 (≤ 32 MiB, at least one head:
// 32 MiB at Lk = 32768, d = 128) plus ~150 KiB per thread.
//
// Layout as attention::attention: q [B, Lq, N, D], k and v [B, Lk, N, D] (any strides with a
// unit stride along D), output [B, Lq, N, D] float32 contiguous. Inputs float32 or bfloat16 (all
// three the same; other floating dtypes are converted to float32).
// Precision: fp32 — float32 throughout. bf16 — q, k, v rounded to bf16 values (exact for bf16
// inputs), float32 scores / softmax / weighted sum, output rounded to bf16 values (float32
// storage), the semantics of attention::math_attention's bf16 path; on AVX-512 BF16 and AMX the softmax
// weights are also rounded to bf16 for the weighted sum (docs/skiparse.md "Fused CPU kernel").
//
// Variable lengths instead of dense masks: `key_lengths` (integer [B]) limits batch row b to
// keys 0 .. key_lengths[b]−1; `query_lengths` (integer [B]) makes rows at and after
// query_lengths[b] zero. For a padded self-attention pass the same tensor as both. A row with no
// valid key is zero. Undefined tensors mean "all valid".
//
// On non-CPU tensors this falls back to attention::attention per batch row (same semantics).
#include <ATen/ATen.h>

#include <string>

#include "osp/core/precision.h"

namespace osp::attention {

enum class CpuIsa {
  kAuto,    // the best of the following that this build and this CPU support
  kScalar,  // portable C++ (any CPU)
  kAvx2,    // AVX2 + FMA (x86-64)
  kAvx512,  // AVX-512F (x86-64)
  kAvx512Bf16,  // AVX-512F + AVX-512 BF16: bf16 precision on the bf16 dot-product instruction
                // (chosen explicitly only: kAuto prefers kAvx512, faster where measured)
  kAmx,         // AVX-512 BF16 + AMX (Linux): bf16 precision's products on the tile unit; float32
                // precision as kAvx512
};

// Whether this build contains `isa` and this CPU can run it (kAuto and kScalar: always).
bool cpu_isa_available(CpuIsa isa);
// The ISA that kAuto selects.
CpuIsa best_cpu_isa();
std::string cpu_isa_name(CpuIsa isa);

// Throws osp::Error on inconsistent shapes, lengths out of range, or an `isa` that is not
// available (tests force kScalar / kAvx2 to compare the paths).
at::Tensor fused_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale,
                           Precision precision, const at::Tensor& key_lengths = {},
                           const at::Tensor& query_lengths = {}, CpuIsa isa = CpuIsa::kAuto);

// Multiply-adds of attention as FLOPs: 4 · B · N · Lq · Lk · D (QKᵀ and PV; softmax not counted).
double attention_flops(int64_t batch, int64_t query_len, int64_t key_len, int64_t heads, int64_t head_dim);

}  // namespace osp::attention
