#pragma once
// Fully sharded data parallel training of a WanDiT. The model is cut into units — one per block,
// plus one for everything else (patch, text and time embeddings and the head) — and every unit's
// tensors are flat groups of which each rank keeps 1/N (flat_shard.h): the trained tensors as a
// float32 master shard (the optimizer's moments and the EMA are kept for it alone), frozen ones
// (a LoRA run's base) in their own dtype.
//
// One micro-batch: before_forward gathers the non-block unit, which stays for forward and
// backward. Each block runs checkpointed (checkpointed_blocks.h): its unit is all-gathered just
// before it runs while the next block's gather is already in flight, and freed after; backward
// gathers it again (prefetching the block before it), recomputes the block, reduce-scatters the
// gradients of its trained tensors in float32 into the owners' shards and frees it.
// after_backward reduce-scatters the non-block unit's gradients and frees it. Per micro-batch each
// rank thus moves about three times the model's bytes ((N−1)/N of them off-rank), and never holds
// more than two gathered blocks.
#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include "osp/models/dit/model.h"
#include "osp/parallel/checkpointed_blocks.h"
#include "osp/parallel/flat_shard.h"
#include "osp/parallel/training_strategy.h"

namespace osp::parallel {

class FullySharded : public TrainingStrategy, private BlockWeights {
 public:
  // `trained`: the float32 tensors the run trains (their values equal on every rank), a subset of
  // the model's parameters or tensors attached to its blocks (LoRA), named canonically; every
  // other parameter of `model` is frozen and sharded as well. `gather_dtypes`: trained tensors
  // gathered in another dtype than float32 (mixed precision: bf16 for the weights the GEMMs round
  // to bf16, which then travel at half the bytes; their gradients stay float32). Installs itself
  // as the model's block runner; `model` must outlive this object. `values_later`: tensors never
  // written whose values arrive through absorb(), tensor by tensor (a model built shard by shard).
  FullySharded(dit::WanDiT& model, const NamedTensors& trained, Communicator group,
               const std::map<std::string, at::ScalarType>& gather_dtypes = {},
               const std::set<std::string>& values_later = {});
  ~FullySharded() override;

  const NamedTensors& owned() const override { return owned_; }
  void zero_grad() override;
  void before_forward() override;
  void after_backward() override;
  void after_forward_only() override;
  double synchronize(double loss) override;
  double global_grad_norm() const override;
  NamedTensors unshard(const std::vector<at::Tensor>& owned_like) const override;
  void reshard(const std::function<at::Tensor(const std::string&, at::IntArrayRef)>& whole,
               const std::vector<at::Tensor>& owned_like) const override;
  std::vector<ShardLayout> shard_layout() const override;
  const Communicator& group() const override { return group_; }
  std::string describe() const override;

  // Bytes of shards this rank holds (weights only; moments and EMA are 2× and 1× the trained part).
  int64_t shard_bytes() const;
  // Bytes of all the unit's tensors, unsharded (the model size the traffic is measured against).
  // A model built on the meta device: the values of whole tensor `name` arrive here one at a time
  // (each unit's shard keeps its part); false when no shard holds `name`.
  bool absorb(const std::string& name, const at::Tensor& values);
  int64_t model_bytes() const;
  int64_t recomputed_blocks() const { return runner_.recomputed(); }

 private:
  struct Unit {
    std::vector<std::unique_ptr<FlatShard>> trained;  // float32, the optimizer's; one per gather dtype
    std::vector<std::unique_ptr<FlatShard>> frozen;   // one per dtype
    void start_gather();
    void gather();
    void free();
  };

  // BlockWeights: the checkpointed blocks' weights come from unit n.
  void acquire(int64_t n, Pass pass) override;
  void release(int64_t n) override;
  std::vector<at::Tensor> inputs(int64_t n) override;
  std::vector<at::Tensor> trainable(int64_t n) override;
  std::vector<at::Tensor> input_grads(int64_t n, std::vector<at::Tensor> grads) override;

  Unit& root() { return units_.back(); }

  dit::WanDiT& model_;
  Communicator group_;
  std::vector<Unit> units_;  // blocks 0..L−1, then the non-block unit
  NamedTensors owned_;
  std::vector<const FlatShard*> owned_shard_;  // the flat group of each owned tensor
  CheckpointedBlocks runner_;
};

}  // namespace osp::parallel
