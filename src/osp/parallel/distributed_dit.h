#pragma once
// One WanDiT across the mesh: the entry point of `osp dit-forward` (and, later,
// generation) under a launcher. dp splits the batch, cfg runs the two guidance branches on two
// halves of the ranks, SSP/Ulysses split each forward (SequenceParallel), and weight sharding
// keeps 1/N of every block per rank. Every rank returns the whole result.
#include <ATen/ATen.h>

#include <memory>

#include "osp/models/dit/model.h"
#include "osp/parallel/mesh.h"
#include "osp/parallel/sequence_parallel.h"
#include "osp/parallel/weight_sharding.h"
#include "osp/parallel/world.h"

namespace osp::parallel {

struct ParallelOptions {
  int sp = 1;                 // Ulysses degree inside sparse blocks (--sp)
  int ssp = 1;                // skiparse_sp (--ssp)
  bool cfg_parallel = false;  // --cfg-parallel
  bool shard_weights = false; // --shard-weights
  // dp = world / (cfg·ssp·sp).
  MeshShape mesh(int world_size) const;
  // Whether any flag asks for more than plain single-process execution.
  bool requested() const { return sp > 1 || ssp > 1 || cfg_parallel || shard_weights; }
};

class DistributedDiT {
 public:
  // Validates the mesh against the world and the model (osp::Error naming the flag), creates the
  // groups (collective), and shards the blocks when asked (the model must hold its weights, or
  // the blocks must already be sharded through weights()).
  DistributedDiT(World& world, dit::WanDiT& model, const ParallelOptions& options);

  // v for x [B, ...], t [B], context [B, Lc, text_dim] (B divisible by dp). No guidance: a
  // cfg-parallel mesh needs guided_forward.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& t, const at::Tensor& context);
  // Classifier-free guidance v = v_u + g·(v_c − v_u) (docs/sampling.md "Guidance and the negative prompt"):
  // the conditional branch on `context`, the unconditional one on `negative_context`; with cfg-parallel
  // each half of the ranks runs one branch and the halves exchange their results once (one all-gather).
  at::Tensor guided_forward(const at::Tensor& x, const at::Tensor& t, const at::Tensor& context,
                            const at::Tensor& negative_context, double scale);

  // The same with text contexts that keep the cross-attention keys/values between the steps of a
  // generation (dit/text_context.h). Each holds this rank's data-parallel share of the rows (all
  // rows when dp = 1, as in generation, where B = 1).
  at::Tensor forward(const at::Tensor& x, const at::Tensor& t, dit::TextContext& context);
  at::Tensor guided_forward(const at::Tensor& x, const at::Tensor& t, dit::TextContext& context,
                            dit::TextContext& negative_context, double scale);

  const MeshShape& mesh() const { return groups_.shape; }
  c10::Device device() const { return model_.device(); }
  const MeshGroups& groups() const { return groups_; }
  WeightSharding* weights() { return weights_.get(); }
  CommCounters& counters() { return world_.counters(); }

 private:
  std::pair<int64_t, int64_t> share(int64_t batch) const;  // {first row, rows} of this rank
  // This rank's share of x and t, the forward on it, and the all-gather of the shares.
  at::Tensor forward_share(const at::Tensor& x, const at::Tensor& t, dit::TextContext& context_share);
  // Both guidance branches (or this rank's one under cfg-parallel), guided.
  template <typename Branch>
  at::Tensor guide_branches(double scale, Branch&& branch);

  World& world_;
  dit::WanDiT& model_;
  MeshGroups groups_;
  std::unique_ptr<WeightSharding> weights_;
  std::unique_ptr<SequenceParallel> sequence_parallel_;
};

}  // namespace osp::parallel
