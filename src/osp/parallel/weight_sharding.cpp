#include "osp/parallel/weight_sharding.h"

#include <map>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "osp/core/error.h"

namespace osp::parallel {

WeightSharding::WeightSharding(dit::WanDiT& model, const Communicator& group)
    : model_(model), group_(group), blocks_(model.blocks.size()) {}

void WeightSharding::shard_block(int64_t n) {
  TORCH_CHECK(!sharded(n), "block ", n, " is already sharded");
  std::map<at::ScalarType, NamedTensors> by_dtype;
  for (const auto& item : model_.blocks[n]->named_parameters()) {
    by_dtype[item.value().scalar_type()].emplace_back(item.key(), item.value());
  }
  for (const auto& [dtype, tensors] : by_dtype) blocks_[n].push_back(std::make_unique<FlatShard>(tensors, group_));
  // glibc raises its mmap threshold after large frees, so the freed block parameters (tens of MB
  // each) can stay in the heap instead of going back to the system; hand the free pages back so
  // that the per-rank resident memory really falls to the shards.
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

void WeightSharding::shard_all() {
  for (size_t n = 0; n < blocks_.size(); ++n) shard_block(static_cast<int64_t>(n));
}

void WeightSharding::materialize(int64_t n) {
  for (auto& bucket : blocks_[n]) bucket->gather();
}

void WeightSharding::release(int64_t n) {
  for (auto& bucket : blocks_[n]) bucket->free();
}

int64_t WeightSharding::shard_bytes() const {
  int64_t bytes = 0;
  for (const auto& block : blocks_) {
    for (const auto& bucket : block) bytes += static_cast<int64_t>(bucket->shard().nbytes());
  }
  return bytes;
}

}  // namespace osp::parallel
