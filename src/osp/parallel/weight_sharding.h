#pragma once
// Weight sharding for inference (FSDP-style): each rank keeps 1/N of every block's
// parameters and all-gathers a block just before it runs, freeing the gathered copy after, so the
// weight memory per rank is (blocks)/N + one block + the small non-block parameters.
//
// A block's parameters are grouped by dtype into flat buckets (FlatShard, flat_shard.h, as in
// fully sharded training); rank r keeps elements [r·c, (r+1)·c) of each bucket (c = ⌈numel/N⌉,
// the last shard zero-padded). Between blocks the parameter tensors of a sharded block are empty
// (0 elements); materialize() points them into the gathered buffer, release() empties them again.
#include <ATen/ATen.h>

#include <memory>
#include <vector>

#include "osp/models/dit/model.h"
#include "osp/parallel/communicator.h"
#include "osp/parallel/flat_shard.h"

namespace osp::parallel {

class WeightSharding {
 public:
  // Nothing is sharded yet: call shard_block for each block once its parameters hold their values
  // (or shard_all). `model` and `group` must outlive this object.
  WeightSharding(dit::WanDiT& model, const Communicator& group);

  void shard_block(int64_t n);
  void shard_all();
  bool sharded(int64_t n) const { return !blocks_[n].empty(); }

  // All-gathers block n's parameters (one all-gather per dtype bucket, counted under the
  // weights site) and points the parameters at them.
  void materialize(int64_t n);
  // Empties block n's parameters again (frees the gathered buffers).
  void release(int64_t n);

  // Bytes of parameter shards this rank holds.
  int64_t shard_bytes() const;

 private:
  dit::WanDiT& model_;
  const Communicator& group_;
  std::vector<std::vector<std::unique_ptr<FlatShard>>> blocks_;  // per block, one per dtype
};

}  // namespace osp::parallel
