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

at::Tensor DistributedDiT::forward(const at::Tensor& x, const at::Tensor& t, const at::Tensor& context) {
  const int dp = groups_.dp.size();
  const int64_t B = x.size(0);
  if (B % dp != 0) fail_about("x", "batch {} is not divisible by the data-parallel degree {}", B, dp);
  const int64_t b = B / dp, first = groups_.dp.rank() * b;
  const at::Tensor v = model_.forward(x.narrow(0, first, b), t.narrow(0, first, b), context.narrow(0, first, b),
                                      sequence_parallel_.get());
  SiteScope site(&world_.counters(), CommSite::kOutput);
  return groups_.dp.all_gather(v, 0);
}

at::Tensor DistributedDiT::guided_forward(const at::Tensor& x, const at::Tensor& t, const at::Tensor& context,
                                          const at::Tensor& negative_context, double scale) {
  const auto guide = [scale](const at::Tensor& v_c, const at::Tensor& v_u) { return v_u + scale * (v_c - v_u); };
  if (groups_.cfg.size() == 1) {
    const at::Tensor v_c = forward(x, t, context);
    return guide(v_c, forward(x, t, negative_context));
  }
  // Half 0 runs the conditional branch, half 1 the unconditional one; one exchange per step.
  const at::Tensor mine = forward(x, t, groups_.coords.cfg == 0 ? context : negative_context);
  SiteScope site(&world_.counters(), CommSite::kCfg);
  const at::Tensor both = groups_.cfg.all_gather(mine.unsqueeze(0), 0);
  return guide(both[0], both[1]);
}

}  // namespace osp::parallel
