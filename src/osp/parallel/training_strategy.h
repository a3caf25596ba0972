#pragma once
// How the ranks of a training run share the work of one optimizer step. The trainer computes the
// loss and calls backward; the strategy decides what each rank holds (the tensors it updates, their
// optimizer moments and EMA), how gradients travel between ranks, and how the global gradient norm
// is measured. Two strategies: replicated data parallel (replicated_data_parallel.h: every rank
// holds every weight, gradients are averaged with bucketed all-reduces) and fully sharded data
// parallel (fully_sharded.h: every rank holds 1/N of every weight, gradient and moment).
//
// Calling order per optimizer step, identical on every rank (the collectives must match):
//   zero_grad; grad_accum × { before_forward; loss.backward(); after_backward };
//   synchronize(loss); global_grad_norm; (clip and the optimizer on owned()); after_update.
// Forwards without backward (no gradient mode): before_forward; forwards; after_forward_only.
#include <ATen/ATen.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "osp/parallel/communicator.h"

namespace osp::parallel {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// How one tensor of owned() holds 1/N of whole tensors (sharded checkpoints): `tensors` laid out
// one after the other, zero-padded to N·chunk elements; rank r holds elements [r·chunk, (r+1)·chunk).
struct ShardLayout {
  std::string shard;  // the owned() name
  int64_t chunk = 0;
  std::vector<std::pair<std::string, std::vector<int64_t>>> tensors;  // whole tensors: name, shape
};

inline bool operator==(const ShardLayout& a, const ShardLayout& b) {
  return a.shard == b.shard && a.chunk == b.chunk && a.tensors == b.tensors;
}

class TrainingStrategy {
 public:
  virtual ~TrainingStrategy() = default;

  // The float32 tensors this rank updates: the optimizer's moments and the EMA are kept for these
  // and only these. Their .grad() holds the rank-averaged gradient after synchronize().
  virtual const NamedTensors& owned() const = 0;

  virtual void zero_grad() = 0;
  // Around each micro-batch (fully sharded: gathers and frees the non-block weights).
  virtual void before_forward() {}
  virtual void after_backward() {}
  // After forwards that no backward follows (RL rollouts and evaluation between before_forward and
  // this): releases what before_forward gathered, moving no gradient.
  virtual void after_forward_only() {}
  // Averages the gradients of owned() over the ranks and returns the mean of `loss` over the ranks.
  virtual double synchronize(double loss) = 0;
  // The L2 norm of the whole model's averaged gradient (every rank gets the same value).
  virtual double global_grad_norm() const = 0;
  // After the optimizer changed owned() (nothing to do for either strategy today).
  virtual void after_update() {}

  // Checkpoints store whole tensors under the parameter names, whatever the strategy. unshard:
  // `owned_like` (tensors laid out as owned(): the weights, an optimizer moment or the EMA) as
  // whole named tensors (collective: every rank calls it, every rank gets them). reshard: the
  // reverse, `whole(name, shape)` giving the checkpoint's tensor of that name.
  virtual NamedTensors unshard(const std::vector<at::Tensor>& owned_like) const = 0;
  virtual void reshard(const std::function<at::Tensor(const std::string&, at::IntArrayRef)>& whole,
                       const std::vector<at::Tensor>& owned_like) const = 0;

  // The layout of each owned() tensor when it is a shard (in owned() order); empty when owned()
  // holds whole tensors. A sharded checkpoint stores it as its index.
  virtual std::vector<ShardLayout> shard_layout() const { return {}; }

  virtual const Communicator& group() const = 0;
  // "replicated data parallel over 2 ranks": for the start-up log line.
  virtual std::string describe() const = 0;
};

// The squared L2 norm of the defined gradients of `tensors`, accumulated in float64.
double grad_squares(const NamedTensors& tensors);

}  // namespace osp::parallel
