#include "osp/parallel/distributed_dit.h"

#include "osp/core/error.h"
#include "osp/core/log.h"

namespace osp::parallel {

MeshShape ParallelOptions::mesh(int world_size) const {
  MeshShape shape;
  shape.cfg = cfg_parallel ? 2 : 1;
  shape.ssp = ssp;
  shape.sp = sp;
  const int rest = shape.cfg * ssp * sp;
  if (rest < 1 || world_size % rest != 0) {
    fail_about("mesh", "{} ranks are not divisible by cfg {} × skiparse_sp {} × sp {} = {}", world_size, shape.cfg,
               ssp, sp, rest);
  }
  shape.dp = world_size / rest;
  return shape;
}

DistributedDiT::DistributedDiT(World& world, dit::WanDiT& model, const ParallelOptions& options)
    : world_(world), model_(model) {
  const MeshShape shape = options.mesh(world.size());
  validate_mesh(shape, world.size(), model.config());
  // Every rank got this far (a rank that failed to load has closed its connections: this fails
  // at once instead of waiting for the group rendezvous below to time out).
  world.global().barrier();
  groups_ = MeshGroups::create(world, shape, static_cast<int>(model.config().num_heads));
  if (options.shard_weights) {
    weights_ = std::make_unique<WeightSharding>(model, groups_.world);
    weights_->shard_all();
  }
  sequence_parallel_ =
      std::make_unique<SequenceParallel>(groups_, model.config(), &world.counters(), weights_.get());
  log::debug("rank {}: mesh {}, full-block Ulysses degree {}", world.rank(), shape.describe(), groups_.full.size());
}

// The batch rows of this rank's data-parallel share.
std::pair<int64_t, int64_t> DistributedDiT::share(int64_t batch) const {
  const int dp = groups_.dp.size();
  if (batch % dp != 0) fail_about("x", "batch {} is not divisible by the data-parallel degree {}", batch, dp);
  const int64_t b = batch / dp;
  return {groups_.dp.rank() * b, b};
}

at::Tensor DistributedDiT::forward_share(const at::Tensor& x, const at::Tensor& t, dit::TextContext& context_share) {
  const auto [first, b] = share(x.size(0));
  const at::Tensor v = model_.forward(x.narrow(0, first, b), t.narrow(0, first, b), context_share,
                                      sequence_parallel_.get());
  SiteScope site(&world_.counters(), CommSite::kOutput);
  return groups_.dp.all_gather(v, 0);
}

at::Tensor DistributedDiT::forward(const at::Tensor& x, const at::Tensor& t, const at::Tensor& context) {
  const auto [first, b] = share(x.size(0));
  dit::TextContext context_share(context.narrow(0, first, b));
  return forward_share(x, t, context_share);
}

at::Tensor DistributedDiT::forward(const at::Tensor& x, const at::Tensor& t, dit::TextContext& context) {
  return forward_share(x, t, context);
}

template <typename Branch>
at::Tensor DistributedDiT::guide_branches(double scale, Branch&& branch) {
  // docs/sampling.md "Guidance and the negative prompt": v_u + g·(v_c − v_u); branch(true) is the conditional one.
  const auto guide = [scale](const at::Tensor& v_c, const at::Tensor& v_u) { return v_u + scale * (v_c - v_u); };
  if (groups_.cfg.size() == 1) {
    const at::Tensor v_c = branch(true);
    return guide(v_c, branch(false));
  }
  // Half 0 runs the conditional branch, half 1 the unconditional one; one exchange per step.
  const at::Tensor mine = branch(groups_.coords.cfg == 0);
  SiteScope site(&world_.counters(), CommSite::kCfg);
  const at::Tensor both = groups_.cfg.all_gather(mine.unsqueeze(0), 0);
  return guide(both[0], both[1]);
}

at::Tensor DistributedDiT::guided_forward(const at::Tensor& x, const at::Tensor& t, const at::Tensor& context,
                                          const at::Tensor& negative_context, double scale) {
  return guide_branches(scale, [&](bool conditional) { return forward(x, t, conditional ? context : negative_context); });
}

at::Tensor DistributedDiT::guided_forward(const at::Tensor& x, const at::Tensor& t, dit::TextContext& context,
                                          dit::TextContext& negative_context, double scale) {
  return guide_branches(scale, [&](bool conditional) { return forward(x, t, conditional ? context : negative_context); });
}

}  // namespace osp::parallel
