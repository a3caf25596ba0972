#pragma once
// The mesh of a sequence-parallel training run (`osp train` and `osp rl` with parallel.sp /
// parallel.ssp; docs/training.md "Sequence-parallel training"): dp × ssp × sp over the launcher's
// ranks, and the SequenceParallel hook the DiT's forward takes. The ranks of one sequence-parallel
// group share their samples; only the data-parallel groups differ.
#include <memory>
#include <string>

#include "osp/models/dit/config.h"
#include "osp/parallel/mesh.h"
#include "osp/parallel/sequence_parallel.h"
#include "osp/parallel/world.h"

namespace osp::parallel {

class TrainingMesh {
 public:
  // Validates sp × ssp against the world and the model (osp::Error "<source>: parallel: …") and
  // creates the groups (collective over `world`, which must outlive this).
  TrainingMesh(World& world, int sp, int ssp, const dit::DiTConfig& model, const std::string& source);

  const MeshGroups& groups() const { return *groups_; }
  SequenceParallel& hook() { return *hook_; }
  // This rank's data-parallel group and the number of them.
  int data_rank() const { return groups_->dp.rank(); }
  int data_ranks() const { return groups_->dp.size(); }
  // Whether this rank is the first of its sequence-parallel group (the one that speaks for it).
  bool leads_sequence_group() const { return groups_->coords.ssp == 0 && groups_->coords.sp == 0; }

 private:
  std::unique_ptr<MeshGroups> groups_;
  std::unique_ptr<SequenceParallel> hook_;
};

}  // namespace osp::parallel
