#pragma once
// Skiparse-2D layouts (docs/skiparse.md "Notation" to "Layouts"): padding of the token grid to multiples of P²,
// the token and group layouts, the token ↔ group switch, their reverses and the crop, and the
// validity mask moved through the same maps.
//
// Every function is a pure reshape/permute of a tensor x [b, N, ...] whose second dimension runs
// over the tokens of one (padded) grid in row-major (t, y, x) order, ℓ = (t·H + y)·W + x ("Notation").
// Trailing dimensions are carried along unchanged ([b, N, C] activations, [b, N] masks,
// [1, N, pairs] RoPE tables). Each call returns a new contiguous tensor (one copy, no gathers).
//
// Batch rows of the sparse layouts: row s·b + i = sub-sequence s of sample i (sub-sequence
// outermost, "Layouts"), shape [P²·b, n, ...].
#include <ATen/ATen.h>

#include <array>
#include <cstdint>

namespace osp::attention {

// Geometry of one Skiparse grid ("Notation", "Padding and validity" step 1).
struct SkiparseGeometry {
  int64_t T = 1, H = 1, W = 1;  // patchified grid (frames, rows, columns)
  int64_t P = 1;                // stride per spatial axis (sparse_ratio)
  int64_t Hp = 1, Wp = 1;       // padded grid: ⌈H/P²⌉·P², ⌈W/P²⌉·P²
  int64_t n = 1;                // sub-sequence length T·Hp·Wp/P²

  // Validates (all positive; osp::Error naming "sparse_ratio" or "grid") and derives Hp, Wp, n.
  static SkiparseGeometry make(const std::array<int64_t, 3>& grid, int64_t P);

  int64_t subsequences() const { return P * P; }           // P² per sample
  int64_t tokens() const { return T * H * W; }             // unpadded tokens per sample
  int64_t padded_tokens() const { return T * Hp * Wp; }    // N
  bool padded() const { return Hp != H || Wp != W; }
  int64_t valid_tokens_token_layout(int64_t s) const;      // valid tokens of token sub-sequence s
  int64_t valid_tokens_group_layout(int64_t s) const;      // valid tokens of group sub-sequence s
};

// "Padding and validity" step 1: [b, T·H·W, ...] → [b, T·Hp·Wp, ...], rows y ≥ H and columns x ≥ W filled with `value`
// (0 for activations; the RoPE cos table pads with 1 = angle 0, "Attention in a sparse block" step 3). No copy when nothing is padded.
at::Tensor pad(const at::Tensor& x, const SkiparseGeometry& g, double value = 0.0);
// "Padding and validity" step 4: [b, T·Hp·Wp, ...] → [b, T·H·W, ...] (crop [:, :, :H, :W]). No copy when nothing is padded.
at::Tensor crop(const at::Tensor& x, const SkiparseGeometry& g);

// "Layouts" token layout `b (t h p w q) c -> (p q b) (t h w) c`: [b, N, ...] → [P²·b, n, ...].
at::Tensor to_token_layout(const at::Tensor& x, const SkiparseGeometry& g);
// Its reverse: [P²·b, n, ...] → [b, N, ...].
at::Tensor from_token_layout(const at::Tensor& x, const SkiparseGeometry& g);

// "Layouts" group layout `b (t hh p1 p2 ww q1 q2) c -> (p1 q1 b) (t hh p2 ww q2) c`: [b, N, ...] → [P²·b, n, ...].
at::Tensor to_group_layout(const at::Tensor& x, const SkiparseGeometry& g);
// Its reverse: [P²·b, n, ...] → [b, N, ...].
at::Tensor from_group_layout(const at::Tensor& x, const SkiparseGeometry& g);

// "Layouts" switch `(p2 q2 b) (A p1 B q1) c -> (p1 q1 b) (A p2 B q2) c`, A = T·Hp/P², B = Wp/P²:
// token layout → group layout and group → token (self-inverse). [P²·b, n, ...] → [P²·b, n, ...].
// Kept a single function: sequence parallelism replaces it with one all-to-all ("The token-group switch").
at::Tensor switch_layout(const at::Tensor& x, const SkiparseGeometry& g);

// "Padding and validity" step 2: validity of the padded grid, bool [1, N] (true iff y < H and x < W), on `device`.
at::Tensor validity_mask(const SkiparseGeometry& g, c10::Device device = c10::kCPU);

// Layout-specific key masks for a batch of b samples: bool [P²·b, n] (row s·b + i = the mask of
// sub-sequence s), or an undefined tensor when the grid has no padding (nothing to exclude).
at::Tensor token_layout_mask(const SkiparseGeometry& g, int64_t batch, c10::Device device = c10::kCPU);
at::Tensor group_layout_mask(const SkiparseGeometry& g, int64_t batch, c10::Device device = c10::kCPU);

// Valid tokens first: for a key mask [B, n] (a layout mask above), `order` [B, n] int64 lists each
// row's valid positions in increasing order, then its padding positions, and `lengths` [B] int64
// counts the valid ones. x.gather(1, order) turns a sub-sequence's valid tokens into a prefix, the
// form of the varlen kernels (key/query lengths, "Attention in a sparse block" step 4); scatter with the same order undoes it.
struct ValidFirstOrder {
  at::Tensor order;
  at::Tensor lengths;
};
ValidFirstOrder valid_first_order(const at::Tensor& key_mask);

}  // namespace osp::attention
