#pragma once
// Internal to the fused CPU attention kernel (fused_cpu*.cpp): the problem description handed from
// the dispatcher to one ISA's kernel, and those kernels' entry points. Not part of the public API.
#include <ATen/Parallel.h>
#include <c10/util/BFloat16.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <utility>
#include <vector>

#include "osp/nn/bf16.h"

namespace osp::attention::detail {

// q [B, Lq, N, D], k and v [B, Lk, N, D], each with unit stride along D (other strides free, in
// elements); all three float32 or all three bf16 (`bf16_input`). Output contiguous float32.
struct FusedProblem {
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  bool bf16_input = false;
  int64_t batch = 0, query_len = 0, key_len = 0, heads = 0, head_dim = 0;
  int64_t q_stride[3] = {0, 0, 0};  // batch, token, head
  int64_t k_stride[3] = {0, 0, 0};
  int64_t v_stride[3] = {0, 0, 0};
  const int64_t* key_lengths = nullptr;    // [B], each in [0, Lk]
  const int64_t* query_lengths = nullptr;  // [B], each in [0, Lq]
  float scale_log2 = 1.0f;                 // scale · log2(e): softmax in base 2
  bool round_bf16 = false;                 // bf16 precision: round operands and output to bf16 values
  int64_t pack_budget_bytes = int64_t{32} << 20;  // packed K/V of a group of heads
  float* out = nullptr;
};

void fused_run_scalar(const FusedProblem& problem);
// Defined in fused_cpu_avx2.cpp / fused_cpu_avx512.cpp; `*_compiled()` is false where the
// compiler or architecture could not build that ISA (then the run functions throw).
bool fused_avx2_compiled();
void fused_run_avx2(const FusedProblem& problem);
bool fused_avx512_compiled();
void fused_run_avx512(const FusedProblem& problem);
bool fused_avx512_bf16_compiled();  // fused_cpu_avx512bf16.cpp
void fused_run_avx512_bf16(const FusedProblem& problem);
bool fused_amx_compiled();  // fused_cpu_amx.cpp
// The CPU has AMX-TILE and AMX-BF16 and the operating system granted the tile state.
bool fused_amx_usable();
void fused_run_amx(const FusedProblem& problem);

}  // namespace osp::attention::detail
