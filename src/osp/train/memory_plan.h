#pragma once
// The training memory planner (`osp plan train`, docs/training.md "Memory planner"): per-rank bytes
// of one training step for a DiT, a video size, a mesh and a strategy, from the model's shapes
// alone (nothing is allocated), so that a 14B plan can be checked on a laptop. What it counts:
// - weights, gradients, AdamW moments and the EMA: float32 masters, whole on every rank
//   (replicated data parallel) or 1/R of them (full sharding); a LoRA run trains (and keeps
//   gradients, moments and EMA for) the adapters only, beside the frozen base in the model's dtype
//   (bf16 compute: bf16, counted for all of it; the few float32 norms are neglected);
// - gathered blocks (full sharding): the block that computes and the one prefetched, in the
//   compute dtype, and the whole gradient of one block before its reduce-scatter;
// - activations of this rank's tokens (sequence parallelism divides them), per block
//   kActivationFloatsPerDim·D + kActivationFloatsPerFfn·F float32 values per token plus, with the
//   math attention, the probabilities it keeps for backward (heads × keys per query), and,
//   with activation checkpointing, only each block's input plus one block recomputed.
// The per-token coefficients are measured on this implementation (tests check the prediction
// against counted tensor bytes of real steps).
#include <cstdint>
#include <string>
#include <vector>

#include "osp/core/precision.h"
#include "osp/core/torch_compat.h"
#include "osp/models/dit/config.h"

namespace osp::train {

// Float32 values kept per token and block, besides attention probabilities (fitted to the tensor
// bytes a counting allocator saw over forward and backward passes of several widths; the planner
// test checks other shapes).
inline constexpr double kActivationFloatsPerDim = 18.0;
inline constexpr double kActivationFloatsPerFfn = 2.0;

struct TrainShape {
  dit::DiTConfig model;
  std::string model_name;     // for the report
  int64_t width = 832, height = 480, frames = 81;  // video pixels and frames (VAE: 8× space, 4× time)
  int64_t batch = 1;          // samples per data-parallel group and micro-step
  int ranks = 1, sp = 1, ssp = 1;
  bool shard_full = false;
  bool checkpointing = false;
  int64_t lora_rank = 0;      // 0: full training
  Precision precision{PrecisionMode::kBf16};
  // Attention that keeps its probabilities for backward (LibTorch 1.13's math path: heads × L²
  // values per attention) or a fused kernel that recomputes them (scaled-dot-product attention of
  // LibTorch 2.x, FlashAttention on GPUs: O(L) memory). Default: what training runs in this build.
  bool attention_keeps_probabilities = !compat::kHasSdpa;
};

struct PlanLine {
  std::string what;
  int64_t bytes = 0;
};

struct MemoryPlan {
  int64_t parameters = 0, trainable = 0;   // counts (whole model)
  int64_t tokens = 0, padded_tokens = 0;   // per sample (padded: the sparse blocks' grid)
  int64_t tokens_per_rank = 0;             // full blocks, per sample
  int dp = 1;
  std::vector<PlanLine> lines;             // per rank
  int64_t total() const;
};

// osp::Error naming the option for impossible shapes (sizes not multiples of 16, frames not 4k+1, a
// mesh that does not divide the ranks or the heads, P²).
MemoryPlan plan_training_memory(const TrainShape& shape);

// LoRA values on the default targets (q, k, v, o of self- and cross-attention of every block).
int64_t lora_parameter_count(const dit::DiTConfig& c, int64_t rank);

// The report: the shape, the mesh, one line per item (GiB), the total, and whether it fits.
std::string format_plan(const TrainShape& shape, const MemoryPlan& plan, int64_t device_memory);

}  // namespace osp::train
