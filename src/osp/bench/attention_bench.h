#pragma once
// Attention kernel timings for `osp bench attention`: the fused CPU kernel against the
// chunked math path and against LibTorch GEMMs of the shapes attention multiplies; on a CUDA device
// the engine's attention against PyTorch's own SDPA kernel called directly.
#include <c10/core/Device.h>

#include <cstdint>
#include <string>
#include <vector>

#include "osp/core/precision.h"

namespace osp::bench {

struct AttentionBenchOptions {
  int64_t batch = 1;
  int64_t length = 4096;  // Lq = Lk
  int64_t heads = 12;
  int64_t head_dim = 128;
  Precision precision{};
  int reps = 1;                // timed runs after one warm-up
  bool fused_scalar = false;   // also time the portable scalar kernel (slow)
  bool math = true;            // time attention::math_attention
  bool gemm = true;            // time the two GEMM shapes
  uint64_t seed = 0;
  c10::Device device = c10::kCPU;  // CUDA: the engine's attention and the SDPA reference (no CPU kernels)
};

struct AttentionBenchRow {
  std::string kernel;  // e.g. "fused avx2", "math", "gemm [L,D]x[D,L]"
  double seconds = 0;  // mean per call
  double gflops = 0;   // attention FLOPs (4·B·N·L²·D) per second; for GEMM rows that GEMM's own FLOPs
  double peak_extra_bytes = 0;  // RSS high-water mark during the runs above the inputs' RSS, output excluded (CPU)
};

// Times each kernel on random [B, L, N, D] inputs. GEMM rows: float32 at::matmul of one head's
// QKᵀ ([L, D]·[D, L]) and PV ([L, L]·[L, D]) shapes (the LibTorch rate the fused kernel competes with),
// with L capped at 4096 query rows so that the GEMM operands stay small at long lengths. On a CUDA
// device: the engine's attention (attention::attention, kAuto), PyTorch's SDPA on [B, N, L, D]
// operands already in the compute dtype (the reference: no layout change or cast around it;
// LibTorch ≥ 2.1), and the GEMMs in the compute dtype.
std::vector<AttentionBenchRow> time_attention_kernels(const AttentionBenchOptions& options);

// `osp bench attention`: prints the rows above for each precision, plus the fused kernel on the
// Skiparse layout (P² sub-sequences of L/P² tokens, docs/skiparse.md "Cost") when sparse_ratio > 1,
// with each row's ratio to the faster same-run GEMM rate and to full fused attention, and the peak
// extra resident memory of each kernel.
void run_attention_bench(AttentionBenchOptions options, const std::vector<std::string>& precisions,
                         int64_t sparse_ratio);

}  // namespace osp::bench
