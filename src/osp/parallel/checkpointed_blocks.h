#pragma once
// Activation checkpointing of the DiT's blocks: each block runs as one custom autograd function
// that keeps only its inputs (the stream, the time projection and the embedded text); everything
// the block computes in between is dropped after forward and recomputed, under grad mode, when
// backward reaches the block. Memory for activations falls from every block's intermediates to
// one block's plus the block boundaries, for one extra block forward per backward.
//
// Where a block's weights come from is a BlockWeights: the blocks' own parameters (LocalBlockWeights)
// or a fully sharded copy that is all-gathered around each use and whose gradients are
// reduce-scattered (fully_sharded.h), which reuses this function so that its gathered weights
// never have to outlive a block.
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "osp/models/dit/block_runner.h"
#include "osp/parallel/training_strategy.h"

namespace osp::parallel {

class BlockWeights {
 public:
  enum class Pass { kForward, kBackward };
  virtual ~BlockWeights() = default;
  // Block n's parameters hold their values from acquire(n) until release(n) (fully sharded: an
  // all-gather, and the next block of the pass is prefetched).
  virtual void acquire(int64_t n, Pass pass) {}
  virtual void release(int64_t n) {}
  // The tensors the checkpointed function takes for block n's weights: autograd delivers their
  // gradients (the parameters themselves, or the rank's shard of them).
  virtual std::vector<at::Tensor> inputs(int64_t n) = 0;
  // Block n's trained parameters (valid while acquired): the recomputation differentiates these.
  virtual std::vector<at::Tensor> trainable(int64_t n) = 0;
  // The gradients of inputs(n) from those of trainable(n) (undefined: the block did not use it).
  virtual std::vector<at::Tensor> input_grads(int64_t n, std::vector<at::Tensor> grads) = 0;
};

// The index of the DiT block a trained tensor belongs to, from its canonical name ("blocks.3.…",
// or a LoRA tensor "base_model.model.blocks.3.…"); −1 outside the blocks.
int64_t block_of(const std::string& name);

// Block n's tensors of `trained` (by name), in their order.
std::vector<std::vector<at::Tensor>> trained_by_block(const NamedTensors& trained, int64_t blocks);

// The blocks' own parameters: the trained tensors of each block, with gradients accumulated by
// autograd as without checkpointing.
class LocalBlockWeights : public BlockWeights {
 public:
  LocalBlockWeights(const NamedTensors& trained, int64_t blocks) : by_block_(trained_by_block(trained, blocks)) {}
  std::vector<at::Tensor> inputs(int64_t n) override { return by_block_[n]; }
  std::vector<at::Tensor> trainable(int64_t n) override { return by_block_[n]; }
  std::vector<at::Tensor> input_grads(int64_t, std::vector<at::Tensor> grads) override { return grads; }

 private:
  std::vector<std::vector<at::Tensor>> by_block_;
};

class CheckpointedBlocks : public dit::BlockRunner {
 public:
  explicit CheckpointedBlocks(BlockWeights& weights) : weights_(weights) {}
  at::Tensor run(const dit::WanBlock& block, int64_t n, at::Tensor x, const dit::BlockInputs& in) override;
  // Blocks recomputed in backward so far.
  int64_t recomputed() const { return recomputed_; }

 private:
  friend struct CheckpointedBlock;
  BlockWeights& weights_;
  std::atomic<int64_t> recomputed_{0};
};

}  // namespace osp::parallel
