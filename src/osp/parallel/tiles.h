#pragma once
// Spatial tiles of Ulysses inside sparse blocks, "local equivalence" (docs/skiparse.md
// "Ulysses on spatial tiles"): rank j of the sp group owns a rectangle of rows × columns of every
// frame whose origin is a multiple of P², so that Skiparse run on each tile's local grid puts every
// token in the same sub-sequence as on the whole grid.
#include <ATen/ATen.h>

#include <array>
#include <vector>

#include "osp/models/dit/config.h"

namespace osp::parallel {

struct Tile {
  int64_t y0 = 0, rows = 0;  // rows [y0, y0 + rows)
  int64_t x0 = 0, cols = 0;  // columns [x0, x0 + cols)
};

// Steps 1–3 of that section: sp_h = S_sp // ⌈√S_sp⌉, sp_w = S_sp / sp_h; tiles of ⌈nh/sp_h⌉·P² rows
// and ⌈nw/sp_w⌉·P² columns (nh = ⌈H/P²⌉, nw = ⌈W/P²⌉), rank j at tile row j // sp_w, column j % sp_w.
// Throws osp::Error naming "--sp" when the split leaves a rank without tokens (the rejection rule
// of step 2).
std::vector<Tile> spatial_tiles(const std::array<int64_t, 3>& grid, int64_t P, int sp);

// Checks that Ulysses of degree `sp` can tile the token grid of a latent [C, F, H, W] of a sparse
// `config` (nothing to check for dense models or sp = 1); osp::Error naming "--sp" otherwise.
void check_spatial_tiles(const dit::DiTConfig& config, const std::vector<int64_t>& latent, int sp);

// x [b, T·H·W, ...] → the tile's tokens [b, T·rows·cols, ...] in row-major (t, y, x) order.
at::Tensor crop_tile(const at::Tensor& x, const std::array<int64_t, 3>& grid, const Tile& tile);
// The inverse for all tiles at once: `tiles_cat` [b, Σ_j T·rows_j·cols_j, ...] (tile j's tokens
// after tile j−1's) → [b, T·H·W, ...].
at::Tensor assemble_tiles(const at::Tensor& tiles_cat, const std::array<int64_t, 3>& grid,
                          const std::vector<Tile>& tiles);

}  // namespace osp::parallel
