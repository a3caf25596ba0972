#pragma once
// 3D rotary position embedding of the Wan DiT (docs/dit.md "3D RoPE").
#include <ATen/ATen.h>

#include <array>
#include <cstdint>

namespace osp::nn {

// Real dimensions of a head vector given to the (frame, row, column) axes:
// (d − 4⌊d/6⌋, 2⌊d/6⌋, 2⌊d/6⌋) ("3D RoPE"; 44/42/42 for d = 128). Throws osp::Error when the head
// dimension cannot be split into complex pairs for all three axes (d odd or d < 6).
std::array<int64_t, 3> rope_axis_dims(int64_t head_dim);

// cos/sin of the rotation angles for every token of one grid: [L, head_dim/2] float32 each, token
// order ℓ = (fi·h + hi)·w + wi. Angles are computed in float64 ("3D RoPE") and rounded once.
// A table may also hold S per-row tables [S, L, head_dim/2] (the Skiparse layouts move the table of
// the unpadded grid through pad and layout, docs/skiparse.md "Attention in a sparse block" step 3): batch row r of x [B, …]
// then uses table r / (B/S), which is sub-sequence s for row s·b + i.
struct RopeTable {
  std::array<int64_t, 3> grid{};
  at::Tensor cos;
  at::Tensor sin;
};

// Builds the table; positions are limited to [0, max_positions) on each axis like the official
// 1024-row table (osp::Error beyond that). theta 10000 as in Wan.
RopeTable make_rope_table(int64_t head_dim, const std::array<int64_t, 3>& grid, int64_t max_positions = 1024,
                          double theta = 10000.0);

// Rotates adjacent pairs (v[2j], v[2j+1]) of every head vector of x [B, L, N, head_dim] in place
// (docs/dit.md "3D RoPE": v'[2j] = v[2j]cosθ − v[2j+1]sinθ, v'[2j+1] = v[2j]sinθ + v[2j+1]cosθ); L must equal the
// table's token count, and B a multiple of S for per-row tables. x must be float32. While an
// autograd graph is recorded through x (nn/autograd.h) the rotation is out of place: `x` is
// replaced by the rotated tensor. The official run rotates in float64 and rounds once
// ("Precision"); here the rotation runs in float32 on the float64-derived tables, which differs by a few
// float32 ulps (~1e-7 relative, far inside the 1e-5 parity budget) and saves two float64 passes
// over q and k in every block.
void apply_rope_(at::Tensor& x, const RopeTable& table);

}  // namespace osp::nn
