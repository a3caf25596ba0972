#pragma once
// The seam through which training wraps the DiT's blocks. WanDiT::forward runs block n directly
// unless a BlockRunner is set; a runner must compute exactly run_block's result, but may choose
// what autograd keeps of it (activation checkpointing recomputes the block in backward) and what
// happens to the block's weights around it (fully sharded training gathers them just in time).
#include <ATen/ATen.h>

#include <cstdint>

#include "osp/models/dit/block.h"
#include "osp/models/dit/parallel_hook.h"

namespace osp::dit {

// Everything block n reads besides its weights and the stream (the same for every block of one kind).
struct BlockInputs {
  at::Tensor e0;    // [b, 6, D] time projection
  at::Tensor text;  // [b, text_len, D] embedded text (the block computes its own keys and values)
  BlockTables tables;
  bool round_norm1 = false;
  ParallelHook* parallel = nullptr;
  BlockKind kind = BlockKind::kFull;  // what ParallelHook::rerun_block needs when a runner recomputes
};

// Block n's output for stream x: the plain computation every runner must reproduce.
inline at::Tensor run_block(const WanBlock& block, at::Tensor x, const BlockInputs& in) {
  return block.forward(std::move(x), in.e0, in.text, in.tables.rope, in.round_norm1, in.tables.key_mask, in.parallel);
}

class BlockRunner {
 public:
  virtual ~BlockRunner() = default;
  virtual at::Tensor run(const WanBlock& block, int64_t n, at::Tensor x, const BlockInputs& in) = 0;
};

}  // namespace osp::dit
