#pragma once
// Every parameter of a DiT made trainable, and the tensor bytes a forward + backward keeps at its
// peak, counted by a CPU allocator (with or without activation checkpointing): the activation
// checkpointing and memory planner tests measure with these.
#include <cstdint>

#include "counting_allocator.h"
#include "reference_dit.h"
#include "osp/models/dit/model.h"
#include "osp/parallel/checkpointed_blocks.h"

namespace osp::test {

inline parallel::NamedTensors trainable_parameters(dit::WanDiT& model) {
  parallel::NamedTensors out;
  for (const auto& item : model.named_parameters()) {
    item.value().requires_grad_(true);
    out.emplace_back(item.key(), item.value());
  }
  return out;
}

// Peak bytes of CPU tensor storage above the start over one forward + backward of Σ v² (the
// weights exist before and are not counted; the gradients are, and are dropped after).
inline int64_t peak_training_bytes(dit::WanDiT& model, const Inputs& in, bool checkpointed) {
  static CountingCpuAllocator counter;
  const parallel::NamedTensors params = trainable_parameters(model);
  parallel::LocalBlockWeights weights(params, static_cast<int64_t>(model.blocks.size()));
  parallel::CheckpointedBlocks runner(weights);
  if (checkpointed) model.set_block_runner(&runner);
  int64_t peak = 0;
  {
    CountingCpuAllocator::Scope scope(counter);
    const int64_t start = counter.live();
    const at::Tensor v = model.forward(in.x, in.t, in.context);
    v.pow(2).sum().backward();
    peak = counter.peak() - start;
  }
  model.set_block_runner(nullptr);
  for (const auto& item : params) item.second.mutable_grad() = at::Tensor();
  return peak;
}

}  // namespace osp::test
