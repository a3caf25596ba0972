#pragma once
// Replicated data parallel training: every rank holds the whole model, its own micro-batch, and
// after backward the gradients are averaged over the ranks. The gradients travel in flat buckets
// of about `bucket_bytes` (one all-reduce each): few enough collectives that their latency does
// not dominate, small enough that the packing buffers stay a few MB instead of a model-sized copy.
#include <cstdint>
#include <vector>

#include "osp/parallel/training_strategy.h"

namespace osp::parallel {

class ReplicatedDataParallel : public TrainingStrategy {
 public:
  static constexpr int64_t kDefaultBucketBytes = 4 << 20;

  // `params`: the trained float32 tensors (those without requires_grad are frozen and not
  // synchronized). Every rank must hold the same values already (the trainer broadcasts them).
  ReplicatedDataParallel(NamedTensors params, Communicator group, int64_t bucket_bytes = kDefaultBucketBytes);

  const NamedTensors& owned() const override { return params_; }
  void zero_grad() override;
  double synchronize(double loss) override;
  double global_grad_norm() const override;
  NamedTensors unshard(const std::vector<at::Tensor>& owned_like) const override;
  void reshard(const std::function<at::Tensor(const std::string&, at::IntArrayRef)>& whole,
               const std::vector<at::Tensor>& owned_like) const override;
  const Communicator& group() const override { return group_; }
  std::string describe() const override;

  // Indices into owned() of each bucket's tensors (for tests and the log line).
  const std::vector<std::vector<size_t>>& buckets() const { return buckets_; }

 private:
  // Averages the gradients of one bucket (plus `extra` appended to it) in one all-reduce;
  // returns the averaged extra values.
  std::vector<double> all_reduce_bucket(const std::vector<size_t>& bucket, const std::vector<double>& extra);

  NamedTensors params_;
  Communicator group_;
  std::vector<std::vector<size_t>> buckets_;
};

}  // namespace osp::parallel
