#pragma once
// The Wan 2.1 text-to-video DiT, WanModel (docs/dit.md "Forward pass"), as a torch::nn::Module whose
// named_parameters() are exactly the canonical Wan state-dict keys ("Checkpoint keys").
#include <torch/nn/module.h>

#include <array>
#include <map>
#include <mutex>

#include "osp/core/precision.h"
#include "osp/models/dit/block.h"
#include "osp/models/dit/block_residency.h"
#include "osp/models/dit/block_runner.h"
#include "osp/models/dit/config.h"
#include "osp/models/dit/parallel_hook.h"
#include "osp/models/dit/schedule.h"
#include "osp/models/dit/text_context.h"
#include "osp/nn/param_module.h"
#include "osp/nn/rope.h"

namespace osp::dit {

// "head": modulation [1, 2, D] and the output linear "head" [patch_volume·out_dim, D] (float32).
class HeadWeights : public nn::ParamModule {
 public:
  HeadWeights(const DiTConfig& config, const at::TensorOptions& fp32);
  at::Tensor modulation;
  std::shared_ptr<nn::LinearWeights> head;
};

// "time_projection": SiLU then the linear registered as "1".
class TimeProjectionWeights : public nn::ParamModule {
 public:
  TimeProjectionWeights(int64_t dim, const at::TensorOptions& fp32);
  std::shared_ptr<nn::LinearWeights> linear;
};

// "patch_embedding": the Conv3d weight [D, in_dim, pt, ph, pw] and bias [D].
class PatchEmbeddingWeights : public nn::ParamModule {
 public:
  PatchEmbeddingWeights(const DiTConfig& config, const at::TensorOptions& compute);
  at::Tensor weight;
  at::Tensor bias;
};

class WanDiT : public nn::ParamModule {
 public:
  // Parameters are allocated uninitialized on `device` (load_weights fills them). The config is
  // validated (osp::Error); OSP-Next configs run the Skiparse block schedule of
  // docs/skiparse.md "Block schedule" (block_schedule()).
  WanDiT(DiTConfig config, Precision precision, c10::Device device = c10::kCPU);

  // x [B, in_dim, F, H, W] float32 noisy latent; t [B] timesteps in [0, 1000] (float or integer,
  // fractional allowed: the sinusoid is computed in float64 from t as given); context
  // [B, Lc ≤ text_len, text_dim] float32 (or bf16) text embeddings, zero-padded to text_len and
  // attended without mask (docs/dit.md "Forward pass"). Returns the velocity v [B, out_dim, F, H, W] float32.
  // Sparse configs: full blocks see [B, L, D]; the sparse region runs on the Skiparse layouts
  // (pad → token layout on entry, one switch between sparse blocks, reverse → crop on exit,
  // docs/skiparse.md "Padding and validity" to "Attention in a sparse block"), padding excluded from self-attention, RoPE at the original positions.
  // Throws osp::Error naming "x", "t" or "context" and the shapes for invalid inputs.
  // Differentiable: with GradMode on and parameters (or x / context) requiring grad, every
  // primitive takes its autograd path (nn/autograd.h) and the result carries the graph; otherwise
  // the inference kernels run in place without one. The Skiparse schedule is the same in both.
  // `parallel` (optional): multi-process execution (osp::parallel, docs/skiparse.md "Ulysses sequence parallelism", "Sparse Sequence Parallelism (SSP)"); every
  // rank of its groups calls forward with the same inputs and gets the same output.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& t, const at::Tensor& context,
                     ParallelHook* parallel = nullptr) const;
  // The same with a TextContext that keeps the embedded text and the cross-attention keys/values
  // between calls (a sampling loop passes the same one to every step), and, when it has a step
  // cache (step_cache.h), may skip blocks 1 … L−1 of a step.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& t, TextContext& context,
                     ParallelHook* parallel = nullptr) const;

  // Blocks run through `runner` from now on (nullptr: directly). Training sets one for activation
  // checkpointing and fully sharded weights; the text keys/values are then computed inside each
  // block, not cached in the TextContext. The runner must outlive its use.
  void set_block_runner(BlockRunner* runner) { runner_ = runner; }
  // Block weights come and go through `residency` from now on (nullptr: always resident); it must
  // outlive its use. Block streaming sets one (block_streamer.h).
  void set_block_residency(BlockResidency* residency) { residency_ = residency; }

  const DiTConfig& config() const { return config_; }
  const std::vector<BlockKind>& schedule() const { return schedule_; }
  Precision precision() const { return precision_; }
  c10::Device device() const { return device_; }

  // Registered in the order of docs/dit.md "Checkpoint keys".
  std::shared_ptr<PatchEmbeddingWeights> patch_embedding;
  std::shared_ptr<nn::TwoLinears> text_embedding;  // "0": text_dim → D, GELU_tanh, "2": D → D
  std::shared_ptr<nn::TwoLinears> time_embedding;  // "0": freq_dim → D, SiLU, "2": D → D
  std::shared_ptr<TimeProjectionWeights> time_projection;
  std::vector<std::shared_ptr<WanBlock>> blocks;  // registered under "blocks" as "0", "1", …
  std::shared_ptr<HeadWeights> head;

 private:
  void validate_inputs(const at::Tensor& x, const at::Tensor& t, const at::Tensor& context) const;
  at::Tensor embed_patches(const at::Tensor& x) const;                        // → [B, L, D]
  std::pair<at::Tensor, at::Tensor> embed_time(const at::Tensor& t) const;   // e [B, D], e0 [B, 6, D]
  at::Tensor embed_text(const at::Tensor& context) const;                     // → [B, text_len, D]
  at::Tensor apply_head(const at::Tensor& x, const at::Tensor& e) const;     // → [B, L, pv·out_dim]
  nn::RopeTable rope_table(const std::array<int64_t, 3>& grid) const;
  // A context with a step cache needs a full block 0 and plain resident blocks on one process.
  void check_step_cache(const ParallelHook* parallel) const;

  DiTConfig config_;
  std::vector<BlockKind> schedule_;
  Precision precision_;
  c10::Device device_;
  BlockRunner* runner_ = nullptr;
  BlockResidency* residency_ = nullptr;
  // RoPE tables per token grid, built on first use (the grid is fixed over a generation).
  mutable std::mutex rope_mutex_;
  mutable std::map<std::array<int64_t, 3>, nn::RopeTable> rope_cache_;
};

// Patchify/unpatchify ("Forward pass" steps 1 and 6), exposed for tests.
// x [B, C, F, H, W] → [B, L, C·pt·ph·pw], columns (ch, p, q, r) like the flattened Conv3d weight,
// tokens ℓ = (fi·h + hi)·w + wi.
at::Tensor patchify(const at::Tensor& x, const std::array<int64_t, 3>& patch);
// y [B, L, pt·ph·pw·C] with columns (p, q, r, ch) → [B, C, F, H, W] (einsum fhwpqrc->cfphqwr).
at::Tensor unpatchify(const at::Tensor& y, const std::array<int64_t, 3>& grid, const std::array<int64_t, 3>& patch,
                      int64_t channels);

}  // namespace osp::dit
