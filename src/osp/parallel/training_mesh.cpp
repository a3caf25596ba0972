#include "osp/parallel/training_mesh.h"

#include "osp/core/error.h"
#include "osp/parallel/distributed_dit.h"

namespace osp::parallel {

TrainingMesh::TrainingMesh(World& world, int sp, int ssp, const dit::DiTConfig& model, const std::string& source) {
  MeshShape shape;
  try {
    shape = ParallelOptions{sp, ssp}.mesh(world.size());
    validate_mesh(shape, world.size(), model);
  } catch (const Error& e) {
    fail_about(source, "parallel: {}", e.what());
  }
  groups_ = std::make_unique<MeshGroups>(MeshGroups::create(world, shape, static_cast<int>(model.num_heads)));
  hook_ = std::make_unique<SequenceParallel>(*groups_, model, &world.counters());
}

}  // namespace osp::parallel
