#pragma once
// The one seam between the DiT and multi-process execution (docs/skiparse.md "Ulysses sequence parallelism", "Sparse Sequence Parallelism (SSP)"). WanDiT's
// forward takes an optional ParallelHook*; without one (nullptr) the single-process path runs
// unchanged. osp::parallel implements it (Ulysses, SSP, weight sharding); the DiT only calls it
// where the stream is sharded, changes layout, attends, or enters and leaves a block.
#include <ATen/ATen.h>

#include <array>
#include <functional>

#include "osp/models/dit/schedule.h"
#include "osp/nn/rope.h"

namespace osp::dit {

// Attention over local tensors: (q, k, v [B, L, N, d], key_mask bool [B, L] or undefined) → [B, L, N, d].
using LocalAttention =
    std::function<at::Tensor(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& key_mask)>;

// RoPE table and self-attention key mask of this rank's rows of one block kind.
struct BlockTables {
  nn::RopeTable rope;
  at::Tensor key_mask;  // undefined: every key valid
};

class ParallelHook {
 public:
  virtual ~ParallelHook() = default;

  // Start of a forward: token grid (T, H, W), batch b, the RoPE table of the unpadded grid.
  virtual void begin(const std::array<int64_t, 3>& grid, int64_t batch, const nn::RopeTable& rope) = 0;
  // This rank's RoPE table and key mask for blocks of `kind` (its shard of the full stream, or its
  // rows of the sparse layouts).
  virtual BlockTables tables(BlockKind kind) const = 0;
  // Full stream [b, L, D] → this rank's shard (after the patch embedding).
  virtual at::Tensor scatter(const at::Tensor& x) = 0;
  // This rank's shard of per-token outputs [b, L_r, E] → [b, L, E] (before unpatchify).
  virtual at::Tensor gather(const at::Tensor& x) = 0;
  // Moves the (sharded) stream between block kinds: entry into the sparse region, the token ↔
  // group switch, and the exit (docs/skiparse.md "Block schedule" per-block transforms, "Entering the sparse region", "The token-group switch", "Leaving the sparse region").
  virtual at::Tensor change_layout(at::Tensor x, BlockKind from, BlockKind to) = 0;
  // Self-attention of block `kind` on this rank's q, k, v (after RMSNorm and RoPE); `local` runs the
  // attention kernel on tensors already gathered (Ulysses all-to-alls around it, "Ulysses sequence parallelism").
  virtual at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                               const at::Tensor& key_mask, const LocalAttention& local) = 0;
  // Around block n (weight sharding materializes its parameters; counters attribute traffic).
  virtual void before_block(int64_t n, BlockKind kind) {}
  virtual void after_block(int64_t n, BlockKind kind) {}
  // Block n runs again outside the forward's order (activation checkpointing recomputes it in
  // backward): attention() must again act as in that block; nothing is counted twice.
  virtual void rerun_block(int64_t n, BlockKind kind) {}
};

}  // namespace osp::dit
