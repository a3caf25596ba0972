#pragma once
// Ulysses sequence parallelism (docs/skiparse.md "Ulysses sequence parallelism"): the sequence is
// split across the ranks of a group; around self-attention one all-to-all per tensor scatters heads
// and gathers the sequence (q, k, v) and one reverses it (output). Shards may be unequal: each
// all-to-all pads them to the longest and strips the padding after.
#include <ATen/ATen.h>

#include <vector>

#include "osp/parallel/communicator.h"

namespace osp::parallel {

// Lengths of the sequence pieces held by the ranks of a group, in rank order.
struct SequenceSplit {
  std::vector<int64_t> lengths;
  std::vector<int64_t> offsets;

  // Full blocks: contiguous chunks of ⌈L/S⌉ tokens, the last ones shorter (possibly empty).
  static SequenceSplit even(int64_t total, int ranks);
  static SequenceSplit of(std::vector<int64_t> lengths);
  int64_t total() const;
  int64_t longest() const;
};

// x [B, L, ...] (the whole sequence) → this rank's piece [B, lengths[rank], ...] (no copy).
at::Tensor shard_sequence(const at::Tensor& x, const SequenceSplit& split, int rank);
// x [B, lengths[rank], ...] on every rank → [B, total, ...] on every rank (one all-gather).
at::Tensor gather_sequence(const at::Tensor& x, const SequenceSplit& split, const Communicator& group);

// Self-attention step 1: x [B, lengths[rank], N, d] → [B, total, N/S, d] with head group `rank` (one all-to-all).
at::Tensor sequence_to_heads(const at::Tensor& x, const SequenceSplit& split, const Communicator& group);
// Self-attention step 3, the inverse: x [B, total, N/S, d] → [B, lengths[rank], N, d] (one all-to-all).
at::Tensor heads_to_sequence(const at::Tensor& x, const SequenceSplit& split, const Communicator& group);

}  // namespace osp::parallel
