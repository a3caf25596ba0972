#pragma once
// A group of same-dtype tensors kept as 1/N of one flat buffer per rank (fully sharded training).
// The tensors are laid out one after the other and zero-padded to N·c elements; rank r keeps
// elements [r·c, (r+1)·c). Between uses the tensors are empty (0 elements, their shapes kept
// here); gather() all-gathers the buffer and points every tensor into it (Tensor::set_, so that
// code holding the parameter objects — the model, a LoRA adapter — sees the values), free()
// empties them again.
#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

#include "osp/parallel/communicator.h"
#include "osp/parallel/training_strategy.h"

namespace osp::parallel {

class FlatShard {
 public:
  // Takes this rank's part of `tensors` (all of one dtype) and empties them. `gather_dtype`: the
  // dtype the shards travel in when gathered (default: their own), e.g. bf16 for float32 masters
  // of weights that the computation rounds to bf16 anyway; the gathered values are cast back.
  // `values_later`: the tensors hold no values yet (allocated, never written): a zero shard that
  // absorb() fills as their values arrive, so a rank never holds more than one whole tensor.
  FlatShard(const NamedTensors& tensors, const Communicator& group,
            c10::optional<at::ScalarType> gather_dtype = c10::nullopt, bool values_later = false);

  // Copies this rank's part of tensor `name`'s whole `values` into the shard; false when `name` is
  // not one of its tensors.
  bool absorb(const std::string& name, const at::Tensor& values);

  // Starts the all-gather (prefetch); gather() finishes it, or does it all when none was started.
  void start_gather();
  void gather();
  bool gathered() const { return full_.defined(); }
  void free();

  // The rank's part [c]; a float32 master shard of trained tensors is the optimizer's tensor.
  at::Tensor& shard() { return shard_; }
  const at::Tensor& shard() const { return shard_; }
  const std::vector<at::Tensor>& tensors() const { return tensors_; }
  const std::vector<std::string>& names() const { return names_; }
  at::ScalarType dtype() const { return shard_.scalar_type(); }
  int64_t numel() const { return total_; }  // elements without the padding
  at::ScalarType gather_dtype() const { return gather_dtype_; }

  // Gradients of tensors() (undefined: zeros) → this rank's part of their sum over the ranks,
  // divided by the number of ranks (one reduce-scatter).
  at::Tensor reduce_scatter_mean(const std::vector<at::Tensor>& grads) const;
  // The layout of shard() under the name `shard`.
  ShardLayout layout(const std::string& shard) const;
  // A tensor laid out like shard() (a moment, the EMA) → the whole named tensors (collective).
  NamedTensors unshard(const at::Tensor& like_shard) const;
  // The reverse: the whole tensors by name → this rank's part, written into `like_shard`.
  void reshard(const std::function<at::Tensor(const std::string&, at::IntArrayRef)>& whole, at::Tensor like_shard) const;

 private:
  // Points the tensors into a whole flat buffer (views, no copies).
  void point_into(const at::Tensor& flat);
  at::Tensor flatten(const std::vector<at::Tensor>& parts) const;  // [N·c], padding zero

  const Communicator& group_;
  std::vector<std::string> names_;
  std::vector<at::Tensor> tensors_;
  std::vector<std::vector<int64_t>> shapes_;
  int64_t total_ = 0, chunk_ = 0;
  at::ScalarType gather_dtype_;
  at::Tensor shard_;
  at::Tensor full_;
  PendingGather pending_;
};

}  // namespace osp::parallel
