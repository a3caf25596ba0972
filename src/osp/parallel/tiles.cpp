#include "osp/parallel/tiles.h"

#include <cmath>

#include "osp/core/error.h"

namespace osp::parallel {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Tile extent along one axis, rejecting ranks without tiles (docs/skiparse.md "Ulysses on spatial tiles" step 2).
int64_t tile_extent(int64_t extent, int64_t P2, int64_t parts, const char* axis, int sp) {
  const int64_t units = ceil_div(extent, P2);
  if (units < parts || (units % parts != 0 && units <= (units / parts + 1) * (parts - 1))) {
    fail_about("--sp", "Ulysses degree {} splits the {} axis into {} tiles of P² = {} units, but it has {} tokens ({} "
               "units): some rank would get no tokens (docs/skiparse.md 'Ulysses on spatial tiles')",
               sp, axis, parts, P2, extent, units);
  }
  return ceil_div(units, parts) * P2;
}

std::vector<int64_t> tail_of(const at::Tensor& x) { return std::vector<int64_t>(x.sizes().begin() + 2, x.sizes().end()); }

}  // namespace

std::vector<Tile> spatial_tiles(const std::array<int64_t, 3>& grid, int64_t P, int sp) {
  const int sp_h = sp / static_cast<int>(std::ceil(std::sqrt(static_cast<double>(sp))));
  const int sp_w = sp / sp_h;
  if (sp_h * sp_w != sp) fail_about("--sp", "{} ranks do not split into a tile grid (docs/skiparse.md 'Ulysses on spatial tiles')", sp);
  const int64_t P2 = P * P, H = grid[1], W = grid[2];
  const int64_t seq_h = sp_h == 1 ? ceil_div(H, P2) * P2 : tile_extent(H, P2, sp_h, "row", sp);
  const int64_t seq_w = sp_w == 1 ? ceil_div(W, P2) * P2 : tile_extent(W, P2, sp_w, "column", sp);
  std::vector<Tile> tiles;
  for (int j = 0; j < sp; ++j) {
    Tile t;
    t.y0 = (j / sp_w) * seq_h;
    t.x0 = (j % sp_w) * seq_w;
    t.rows = std::min(seq_h, H - t.y0);
    t.cols = std::min(seq_w, W - t.x0);
    if (t.rows <= 0 || t.cols <= 0) {
      fail_about("--sp", "Ulysses degree {} leaves rank {} without tokens on the {}×{} grid", sp, j, H, W);
    }
    tiles.push_back(t);
  }
  return tiles;
}

void check_spatial_tiles(const dit::DiTConfig& config, const std::vector<int64_t>& latent, int sp) {
  if (sp <= 1 || !config.is_sparse()) return;
  const std::array<int64_t, 3> grid{latent.at(1) / config.patch_size[0], latent.at(2) / config.patch_size[1],
                                    latent.at(3) / config.patch_size[2]};
  spatial_tiles(grid, config.sparse_ratio, sp);
}

at::Tensor crop_tile(const at::Tensor& x, const std::array<int64_t, 3>& grid, const Tile& tile) {
  const int64_t b = x.size(0), T = grid[0], H = grid[1], W = grid[2];
  std::vector<int64_t> shape{b, T, H, W};
  const std::vector<int64_t> tail = tail_of(x);
  shape.insert(shape.end(), tail.begin(), tail.end());
  std::vector<int64_t> out{b, T * tile.rows * tile.cols};
  out.insert(out.end(), tail.begin(), tail.end());
  return x.reshape(shape).narrow(2, tile.y0, tile.rows).narrow(3, tile.x0, tile.cols).reshape(out);
}

at::Tensor assemble_tiles(const at::Tensor& tiles_cat, const std::array<int64_t, 3>& grid,
                          const std::vector<Tile>& tiles) {
  const int64_t b = tiles_cat.size(0), T = grid[0], H = grid[1], W = grid[2];
  const std::vector<int64_t> tail = tail_of(tiles_cat);
  std::vector<int64_t> shape{b, T, H, W};
  shape.insert(shape.end(), tail.begin(), tail.end());
  at::Tensor out = at::empty(shape, tiles_cat.options());
  int64_t offset = 0;
  for (const Tile& t : tiles) {
    std::vector<int64_t> piece_shape{b, T, t.rows, t.cols};
    piece_shape.insert(piece_shape.end(), tail.begin(), tail.end());
    const int64_t count = T * t.rows * t.cols;
    out.narrow(2, t.y0, t.rows).narrow(3, t.x0, t.cols).copy_(tiles_cat.narrow(1, offset, count).reshape(piece_shape));
    offset += count;
  }
  std::vector<int64_t> flat{b, T * H * W};
  flat.insert(flat.end(), tail.begin(), tail.end());
  return out.view(flat);
}

}  // namespace osp::parallel
