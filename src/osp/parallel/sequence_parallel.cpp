#include "osp/parallel/sequence_parallel.h"

#include "osp/core/error.h"
#include "osp/parallel/ssp.h"
#include "osp/parallel/weight_sharding.h"

namespace osp::parallel {
namespace {

namespace sk = osp::attention;
using dit::BlockKind;

at::Tensor to_layout(const at::Tensor& x, BlockKind kind, const sk::SkiparseGeometry& g) {
  return kind == BlockKind::kToken ? sk::to_token_layout(x, g) : sk::to_group_layout(x, g);
}

at::Tensor from_layout(const at::Tensor& x, BlockKind kind, const sk::SkiparseGeometry& g) {
  return kind == BlockKind::kToken ? sk::from_token_layout(x, g) : sk::from_group_layout(x, g);
}

// Key mask of one tile's layout for b samples, all-true where the tile has no padding.
at::Tensor layout_mask_or_true(const sk::SkiparseGeometry& g, int64_t batch, BlockKind kind, c10::Device device) {
  at::Tensor mask = kind == BlockKind::kToken ? sk::token_layout_mask(g, batch, device)
                                              : sk::group_layout_mask(g, batch, device);
  if (!mask.defined()) mask = at::ones({g.subsequences() * batch, g.n}, at::TensorOptions().dtype(at::kBool).device(device));
  return mask;
}

}  // namespace

SequenceParallel::SequenceParallel(const MeshGroups& groups, const dit::DiTConfig& config, CommCounters* counters,
                                   WeightSharding* weights)
    : groups_(groups), config_(config), counters_(counters), weights_(weights) {}

void SequenceParallel::set_site(CommSite site, int64_t block) {
  if (!counters_) return;
  counters_->set_site(site);
  counters_->set_block(block);
}

void SequenceParallel::begin(const std::array<int64_t, 3>& grid, int64_t batch, const nn::RopeTable& rope) {
  grid_ = grid;
  batch_ = batch;
  next_block_ = 0;
  const int64_t L = grid[0] * grid[1] * grid[2];
  full_split_ = SequenceSplit::even(L, groups_.full.size());
  const int me = groups_.full.rank();
  full_rope_ = {rope.grid, rope.cos.narrow(0, full_split_.offsets[me], full_split_.lengths[me]),
                rope.sin.narrow(0, full_split_.offsets[me], full_split_.lengths[me])};
  if (config_.is_sparse()) prepare_sparse(rope);
}

void SequenceParallel::prepare_sparse(const nn::RopeTable& rope) {
  const int64_t P = config_.sparse_ratio, P2 = P * P;
  const int sp = groups_.sp.size();
  SparseState& s = sparse_;
  s = SparseState();
  s.tiles = sp > 1 ? spatial_tiles(grid_, P, sp) : std::vector<Tile>{Tile{0, grid_[1], 0, grid_[2]}};
  std::vector<int64_t> lengths;
  for (const Tile& t : s.tiles) {
    s.geometries.push_back(sk::SkiparseGeometry::make({grid_[0], t.rows, t.cols}, P));
    lengths.push_back(s.geometries.back().n);
  }
  s.split = SequenceSplit::of(lengths);
  const Tile& tile = s.tiles[groups_.sp.rank()];
  s.local = s.geometries[groups_.sp.rank()];
  // docs/skiparse.md "Entering the sparse region" step 3: this rank keeps sub-sequences [r·G, (r+1)·G) of every layout.
  const int64_t G = P2 / groups_.ssp.size(), first = groups_.ssp.rank() * G;
  // "Attention in a sparse block" step 3 with "Ulysses on spatial tiles": the tile's part of the unpadded
  // table, padded with angle 0 and moved through the local layout; then this rank's G sub-sequences.
  const auto move = [&](const at::Tensor& table, double pad_value, BlockKind kind) {
    const at::Tensor cropped = crop_tile(table.unsqueeze(0), grid_, tile);
    return to_layout(sk::pad(cropped, s.local, pad_value), kind, s.local).narrow(0, first, G);
  };
  s.token_rope = {rope.grid, move(rope.cos, 1.0, BlockKind::kToken), move(rope.sin, 0.0, BlockKind::kToken)};
  s.group_rope = {rope.grid, move(rope.cos, 1.0, BlockKind::kGroup), move(rope.sin, 0.0, BlockKind::kGroup)};
  // Key masks ("Padding and validity" step 3) of this rank's rows; with tiles, the masks of all tiles in the
  // order in which the Ulysses all-to-all concatenates their pieces (computed here: every rank knows every tile).
  const c10::Device device = rope.cos.device();
  bool any_padded = false;
  for (const auto& g : s.geometries) any_padded = any_padded || g.padded();
  for (BlockKind kind : {BlockKind::kToken, BlockKind::kGroup}) {
    at::Tensor& local = kind == BlockKind::kToken ? s.token_mask : s.group_mask;
    at::Tensor& all = kind == BlockKind::kToken ? s.token_mask_all : s.group_mask_all;
    if (s.local.padded()) local = layout_mask_or_true(s.local, batch_, kind, device).narrow(0, first * batch_, G * batch_);
    if (sp > 1 && any_padded) {
      std::vector<at::Tensor> masks;
      for (const auto& g : s.geometries) {
        masks.push_back(layout_mask_or_true(g, batch_, kind, device).narrow(0, first * batch_, G * batch_));
      }
      all = at::cat(masks, 1);
    }
  }
}

dit::BlockTables SequenceParallel::tables(BlockKind kind) const {
  if (kind == BlockKind::kFull) return {full_rope_, at::Tensor()};
  if (kind == BlockKind::kToken) return {sparse_.token_rope, sparse_.token_mask};
  return {sparse_.group_rope, sparse_.group_mask};
}

at::Tensor SequenceParallel::scatter(const at::Tensor& x) {
  return shard_sequence(x, full_split_, groups_.full.rank()).contiguous();
}

at::Tensor SequenceParallel::gather(const at::Tensor& x) {
  set_site(CommSite::kOutput, -1);
  at::Tensor out = gather_sequence(x, full_split_, groups_.full);
  set_site(CommSite::kOther, -1);
  return out;
}

at::Tensor SequenceParallel::enter_sparse(const at::Tensor& x, BlockKind to) {
  // "Entering the sparse region": gather the shards, (tiles: this rank's tile,) pad, layout, keep G sub-sequences.
  set_site(CommSite::kEnter, -1);
  const at::Tensor whole = gather_sequence(x, full_split_, groups_.full);
  const at::Tensor tile = groups_.sp.size() > 1 ? crop_tile(whole, grid_, sparse_.tiles[groups_.sp.rank()]) : whole;
  const at::Tensor laid = to_layout(sk::pad(tile, sparse_.local), to, sparse_.local);
  set_site(CommSite::kOther, -1);
  return keep_subsequences(laid, sparse_.local.subsequences(), groups_.ssp).clone();
}

at::Tensor SequenceParallel::leave_sparse(const at::Tensor& x, BlockKind from) {
  // "Leaving the sparse region": gather the sub-sequences, reverse, crop; (tiles: gather them;) keep this rank's shard.
  set_site(CommSite::kLeave, -1);
  const at::Tensor rows = gather_subsequences(x, groups_.ssp);
  at::Tensor tile = sk::crop(from_layout(rows, from, sparse_.local), sparse_.local);
  if (groups_.sp.size() > 1) {
    std::vector<int64_t> counts;
    for (const Tile& t : sparse_.tiles) counts.push_back(grid_[0] * t.rows * t.cols);
    tile = assemble_tiles(gather_sequence(tile, SequenceSplit::of(counts), groups_.sp), grid_, sparse_.tiles);
  }
  set_site(CommSite::kOther, -1);
  return shard_sequence(tile, full_split_, groups_.full.rank()).clone();
}

at::Tensor SequenceParallel::change_layout(at::Tensor x, BlockKind from, BlockKind to) {
  if (from == to) return x;
  if (from == BlockKind::kFull) return enter_sparse(x, to);
  if (to == BlockKind::kFull) return leave_sparse(x, from);
  // "The token-group switch": the switch before block next_block_ is that block's one collective.
  set_site(CommSite::kSparseBlock, next_block_);
  at::Tensor out = ssp_switch(x, sparse_.local, groups_.ssp);
  set_site(CommSite::kOther, -1);
  return out;
}

at::Tensor SequenceParallel::attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                       const at::Tensor& key_mask, const dit::LocalAttention& local) {
  const bool full = block_kind_ == BlockKind::kFull;
  const Communicator& group = full ? groups_.full : groups_.sp;
  // "Inside a sparse block": SSP alone needs no communication inside a sparse block.
  if (group.size() == 1) return local(q, k, v, key_mask);
  // "Ulysses sequence parallelism": heads scattered, sequence gathered (flat chunks in full blocks, the tiles'
  // pieces of every sub-sequence in sparse blocks, "Ulysses on spatial tiles" step 5); RoPE was applied per
  // token before (the same rotation as after the gather: it depends only on the token's position).
  const SequenceSplit& split = full ? full_split_ : sparse_.split;
  const at::Tensor mask = full                                ? at::Tensor()
                          : block_kind_ == BlockKind::kToken ? sparse_.token_mask_all
                                                              : sparse_.group_mask_all;
  const at::Tensor o = local(sequence_to_heads(q, split, group), sequence_to_heads(k, split, group),
                             sequence_to_heads(v, split, group), mask);
  return heads_to_sequence(o, split, group);
}

void SequenceParallel::before_block(int64_t n, BlockKind kind) {
  block_kind_ = kind;
  const CommSite site = kind == BlockKind::kFull ? CommSite::kFullBlock : CommSite::kSparseBlock;
  if (counters_) counters_->count_block(site);
  if (weights_) {
    set_site(CommSite::kWeights, -1);
    weights_->materialize(n);
  }
  set_site(site, n);
}

void SequenceParallel::rerun_block(int64_t n, BlockKind kind) {
  block_kind_ = kind;
  set_site(kind == BlockKind::kFull ? CommSite::kFullBlock : CommSite::kSparseBlock, n);
}

void SequenceParallel::after_block(int64_t n, BlockKind kind) {
  if (weights_) weights_->release(n);
  set_site(CommSite::kOther, -1);
  next_block_ = n + 1;
}

}  // namespace osp::parallel
