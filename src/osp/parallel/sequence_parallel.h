#pragma once
// The multi-process execution of one WanDiT forward (dit::ParallelHook; docs/skiparse.md): Ulysses in
// full blocks ("Ulysses sequence parallelism"), SSP in sparse blocks ("Sparse Sequence Parallelism (SSP)"),
// Ulysses on spatial tiles inside sparse blocks when S_sp > 1, weight sharding, collective counters.
//
// Every rank of the SP group (same cfg and dp coordinates) runs the same forward on the same
// inputs; the output is whole on every rank.
#include <array>
#include <vector>

#include "osp/attention/skiparse.h"
#include "osp/models/dit/config.h"
#include "osp/models/dit/parallel_hook.h"
#include "osp/parallel/mesh.h"
#include "osp/parallel/tiles.h"
#include "osp/parallel/ulysses.h"

namespace osp::parallel {

class WeightSharding;

class SequenceParallel : public dit::ParallelHook {
 public:
  // `groups` must outlive this object; `weights` (optional) materializes sharded blocks;
  // `counters` (optional) receives the per-block attribution.
  SequenceParallel(const MeshGroups& groups, const dit::DiTConfig& config, CommCounters* counters = nullptr,
                   WeightSharding* weights = nullptr);

  void begin(const std::array<int64_t, 3>& grid, int64_t batch, const nn::RopeTable& rope) override;
  dit::BlockTables tables(dit::BlockKind kind) const override;
  at::Tensor scatter(const at::Tensor& x) override;
  at::Tensor gather(const at::Tensor& x) override;
  at::Tensor change_layout(at::Tensor x, dit::BlockKind from, dit::BlockKind to) override;
  at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& key_mask,
                       const dit::LocalAttention& local) override;
  void before_block(int64_t n, dit::BlockKind kind) override;
  void after_block(int64_t n, dit::BlockKind kind) override;
  void rerun_block(int64_t n, dit::BlockKind kind) override;

 private:
  // Sparse region, rank-local: this rank's tile, its Skiparse geometry, RoPE tables and masks of
  // its G·b rows; the tiles' sub-sequence lengths and the key masks gathered over the sp group.
  struct SparseState {
    std::vector<Tile> tiles;
    std::vector<attention::SkiparseGeometry> geometries;  // one per sp rank
    attention::SkiparseGeometry local;
    nn::RopeTable token_rope, group_rope;  // [G, n, d/2]
    at::Tensor token_mask, group_mask;     // [G·b, n] or undefined
    at::Tensor token_mask_all, group_mask_all;  // [G·b, Σ n_j] over the sp group, or undefined
    SequenceSplit split;                   // n_j of the sp ranks
  };

  at::Tensor enter_sparse(const at::Tensor& x, dit::BlockKind to);
  at::Tensor leave_sparse(const at::Tensor& x, dit::BlockKind from);
  void prepare_sparse(const nn::RopeTable& rope);
  void set_site(CommSite site, int64_t block);

  const MeshGroups& groups_;
  dit::DiTConfig config_;
  CommCounters* counters_;
  WeightSharding* weights_;

  std::array<int64_t, 3> grid_{};
  int64_t batch_ = 0;
  SequenceSplit full_split_;  // flat chunks of the full-block group
  nn::RopeTable full_rope_;   // this rank's chunk
  SparseState sparse_;
  dit::BlockKind block_kind_ = dit::BlockKind::kFull;
  int64_t next_block_ = 0;
};

}  // namespace osp::parallel
