#pragma once
// Dense (global, non-causal, unmasked) multi-head attention, the "attention core" of
// docs/dit.md "Attention block" with the precision of "Precision": o_h = softmax(q_h k_hᵀ · scale) v_h per head.
//
// Layout: q [B, Lq, N, D], k and v [Bk, Lk, N, D] (tokens-major, the layout the linears produce:
// no transposes in the model), output [B, Lq, N, D] float32. Bk = B, or Bk divides B and query row
// r attends key/value row r mod Bk: the P² Skiparse sub-sequences of sample i (rows s·Bk + i,
// docs/skiparse.md "Attention in a sparse block" step 2) share the text keys/values of sample i, computed once per sample.
// Optional key mask: bool [B, Lk] (true = the key takes part; an expanded view is fine). Masked
// keys get zero weight and their values are never read (varlen semantics, docs/skiparse.md "Padding and validity" step 3,
// "Attention in a sparse block" step 4); a row without any valid key gives a zero output row.
// Precision: fp32 — plain float32. bf16 — q, k, v rounded to bf16, scores, softmax and the
// weighted sum accumulated in float32, output rounded to bf16 (kept in float32 storage).
//
// `attention` chooses a kernel; every kernel has these semantics (tests compare them). While an
// autograd graph is recorded through q, k or v (nn/autograd.h) it runs autograd_attention instead.
#include <ATen/ATen.h>

#include "osp/core/precision.h"

namespace osp::attention {

enum class DenseKernel {
  kAuto,   // CPU: the fused kernel (1.8× the math path per core at L = 16384, d = 128, and no
           // [rows, Lk] score blocks), except unmasked bf16 on a CPU with bf16 dot products under
           // LibTorch ≥ 2.1, which goes to SDPA (its bf16 kernel is faster there); other devices:
           // SDPA where LibTorch has it (≥ 2.1), else math.
  kMath,   // chunked math path (any LibTorch)
  kSdpa,   // at::scaled_dot_product_attention; falls back to kMath where unavailable
  kFused,  // attention::fused_attention (fused_cpu.h) on CPU; elsewhere as kAuto
};

at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale, Precision precision,
                     DenseKernel kernel = DenseKernel::kAuto, const at::Tensor& key_mask = {});

// The math path: per sample and head, query rows in chunks so that one chunk's score block
// [rows, Lk] float32 stays within `score_budget_bytes` (≤ 256 MiB). Scores via GEMM, float32
// softmax in place, weighted sum via GEMM. Default 64 MiB: measured on 2 Zen3 cores at L = 7800,
// d = 128 (bf16 mode), 4 MiB chunks ran at 21 GFLOP/s, 8 MiB at 29, 32–256 MiB at 37–42 (each
// GEMM call re-packs kᵀ and v, so bigger chunks amortize it). With a key mask the valid keys and
// values of each batch row are gathered once (unpad → dense attention, docs/skiparse.md "Attention in a sparse block" step 4).
at::Tensor math_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale,
                          Precision precision, int64_t score_budget_bytes = int64_t{64} << 20,
                          const at::Tensor& key_mask = {});

// The same semantics as differentiable ATen ops (training): SDPA where LibTorch has it, else
// softmax(q kᵀ · scale) v with the full [B, N, Lq, Lk] score tensor; bf16 roundings as casts.
at::Tensor autograd_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale,
                              Precision precision, const at::Tensor& key_mask = {});

// Query rows per chunk for a score block budget (at least 1).
int64_t chunk_rows(int64_t query_len, int64_t key_len, int64_t score_budget_bytes);

}  // namespace osp::attention
