#include "osp/parallel/weight_sharding.h"

#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/grad_mode.h>

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
  torch::NoGradGuard no_grad;
  c10::InferenceMode normal_tensors(false);  // parameters stay normal tensors (set_ onto them)
  const int64_t N = group_.size(), r = group_.rank();
  std::map<at::ScalarType, Bucket> by_dtype;
  for (const at::Tensor& p : model_.blocks[n]->parameters()) {
    Bucket& bucket = by_dtype[p.scalar_type()];
    bucket.params.push_back(p);
    bucket.shapes.push_back(p.sizes().vec());
    bucket.total += p.numel();
  }
  for (auto& [dtype, bucket] : by_dtype) {
    const int64_t chunk = (bucket.total + N - 1) / N;
    at::Tensor flat = at::zeros({chunk * N}, bucket.params.front().options());
    int64_t offset = 0;
    for (const at::Tensor& p : bucket.params) {
      flat.narrow(0, offset, p.numel()).copy_(p.reshape(-1));
      offset += p.numel();
    }
    bucket.shard = flat.narrow(0, r * chunk, chunk).clone();
    // Free the whole parameters: an empty storage of the same dtype.
    for (at::Tensor& p : bucket.params) p.set_(at::empty({0}, p.options()));
    blocks_[n].push_back(std::move(bucket));
  }
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
  if (!sharded(n)) return;
  torch::NoGradGuard no_grad;
  c10::InferenceMode normal_tensors(false);  // parameters stay normal tensors (set_ onto them)
  for (Bucket& bucket : blocks_[n]) {
    const at::Tensor whole = group_.all_gather(bucket.shard, 0);  // [chunk·N] in rank order
    int64_t offset = 0;
    for (size_t i = 0; i < bucket.params.size(); ++i) {
      const std::vector<int64_t>& shape = bucket.shapes[i];
      const at::Tensor view = whole.narrow(0, offset, c10::multiply_integers(shape)).view(shape);
      bucket.params[i].set_(view.storage(), view.storage_offset(), view.sizes(), view.strides());
      offset += view.numel();
    }
  }
}

void WeightSharding::release(int64_t n) {
  if (!sharded(n)) return;
  torch::NoGradGuard no_grad;
  c10::InferenceMode normal_tensors(false);  // parameters stay normal tensors (set_ onto them)
  for (Bucket& bucket : blocks_[n]) {
    for (at::Tensor& p : bucket.params) p.set_(at::empty({0}, p.options()));
  }
}

int64_t WeightSharding::shard_bytes() const {
  int64_t bytes = 0;
  for (const auto& block : blocks_) {
    for (const Bucket& bucket : block) bytes += static_cast<int64_t>(bucket.shard.nbytes());
  }
  return bytes;
}

}  // namespace osp::parallel
