#include "osp/parallel/mesh.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>
#include <numeric>

#include "osp/core/error.h"

namespace osp::parallel {

std::string MeshShape::describe() const {
  return fmt::format("cfg {} × dp {} × skiparse_sp {} × sp {}", cfg, dp, ssp, sp);
}

MeshCoords mesh_coords(const MeshShape& s, int rank) {
  MeshCoords c;
  c.sp = rank % s.sp;
  rank /= s.sp;
  c.ssp = rank % s.ssp;
  rank /= s.ssp;
  c.dp = rank % s.dp;
  c.cfg = rank / s.dp;
  return c;
}

int mesh_rank(const MeshShape& s, const MeshCoords& c) { return ((c.cfg * s.dp + c.dp) * s.ssp + c.ssp) * s.sp + c.sp; }

int full_block_degree(int heads, int global_sp) {
  return heads % global_sp == 0 ? global_sp : std::gcd(heads, global_sp);
}

void validate_mesh(const MeshShape& s, int world_size, const dit::DiTConfig& config) {
  if (s.cfg < 1 || s.dp < 1 || s.ssp < 1 || s.sp < 1) fail_about("mesh", "every degree must be ≥ 1: {}", s.describe());
  if (s.cfg > 2) fail_about("--cfg-parallel", "splits the ranks into at most 2 branches, got {}", s.cfg);
  if (s.size() != world_size) {
    fail_about("mesh", "{} needs {} ranks, the launcher started {}", s.describe(), s.size(), world_size);
  }
  const int64_t P2 = config.is_sparse() ? config.sparse_ratio * config.sparse_ratio : 1;
  if (s.ssp > 1 && !config.is_sparse()) {
    fail_about("--ssp", "skiparse_sp {} needs a Skiparse model (this config is '{}')", s.ssp, config.skiparse_model_type);
  }
  if (s.ssp > P2 || P2 % s.ssp != 0) {
    fail_about("--ssp", "skiparse_sp {} must divide P² = {} (docs/skiparse.md 'SSP mesh')", s.ssp, P2);
  }
  if (config.num_heads % s.sp != 0) {
    fail_about("--sp", "Ulysses degree {} does not divide the {} attention heads", s.sp, config.num_heads);
  }
}

namespace {

// Creates one group per value of the coordinates outside `varying` (every rank creates all of
// them, in the same order) and returns the one this rank belongs to.
Communicator groups_along(World& world, const MeshShape& shape, int my_rank,
                          const std::function<int(const MeshCoords&)>& key) {
  std::map<int, std::vector<int>> groups;
  for (int r = 0; r < shape.size(); ++r) groups[key(mesh_coords(shape, r))].push_back(r);
  Communicator mine;
  for (const auto& [id, ranks] : groups) {
    Communicator group = world.new_group(ranks);
    if (std::find(ranks.begin(), ranks.end(), my_rank) != ranks.end()) mine = group;
  }
  return mine;
}

}  // namespace

MeshGroups MeshGroups::create(World& world, const MeshShape& shape, int heads) {
  MeshGroups g;
  g.shape = shape;
  g.coords = mesh_coords(shape, world.rank());
  const int dp = shape.dp, ssp = shape.ssp, sp = shape.sp;
  const int degree = full_block_degree(heads, shape.sequence_parallel());
  g.ssp = groups_along(world, shape, world.rank(), [&](const MeshCoords& c) { return (c.cfg * dp + c.dp) * sp + c.sp; });
  g.sp = groups_along(world, shape, world.rank(), [&](const MeshCoords& c) { return (c.cfg * dp + c.dp) * ssp + c.ssp; });
  g.full = groups_along(world, shape, world.rank(), [&](const MeshCoords& c) {
    // Position in the SP group is ssp·S_sp + sp; full-block groups are runs of `degree` positions.
    return ((c.cfg * dp + c.dp) * shape.sequence_parallel() + c.ssp * sp + c.sp) / degree;
  });
  g.cfg = groups_along(world, shape, world.rank(), [&](const MeshCoords& c) { return (c.dp * ssp + c.ssp) * sp + c.sp; });
  g.dp = groups_along(world, shape, world.rank(), [&](const MeshCoords& c) { return (c.cfg * ssp + c.ssp) * sp + c.sp; });
  g.world = world.global();
  return g;
}

}  // namespace osp::parallel
