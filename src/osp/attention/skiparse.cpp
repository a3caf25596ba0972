#include "osp/attention/skiparse.h"

#include <vector>

#include "osp/core/error.h"

namespace osp::attention {
namespace {

int64_t round_up(int64_t value, int64_t multiple) { return (value + multiple - 1) / multiple * multiple; }

// Product of the trailing dimensions (1 for a [b, N] tensor).
int64_t trailing(const at::Tensor& x) {
  int64_t c = 1;
  for (int64_t d = 2; d < x.dim(); ++d) c *= x.size(d);
  return c;
}

// Output shape [rows, tokens, trailing dims of x...].
std::vector<int64_t> shape_with(const at::Tensor& x, int64_t rows, int64_t tokens) {
  std::vector<int64_t> shape{rows, tokens};
  for (int64_t d = 2; d < x.dim(); ++d) shape.push_back(x.size(d));
  return shape;
}

void check(const at::Tensor& x, int64_t tokens, int64_t batch_multiple, const char* what) {
  TORCH_CHECK(x.dim() >= 2, what, ": expected [b, tokens, ...], got ", x.sizes());
  TORCH_CHECK(x.size(1) == tokens, what, ": expected ", tokens, " tokens, got ", x.sizes());
  TORCH_CHECK(x.size(0) % batch_multiple == 0, what, ": batch ", x.size(0), " is not a multiple of P² = ",
              batch_multiple);
}

// Number of v ∈ [0, extent) with key(v) == k, key(v) = (v / div) mod P (div = 1: v mod P).
int64_t count_axis(int64_t extent, int64_t P, int64_t div, int64_t k) {
  int64_t count = 0;
  for (int64_t v = 0; v < extent; ++v) count += ((v / div) % P == k) ? 1 : 0;
  return count;
}

at::Tensor layout_mask(const SkiparseGeometry& g, int64_t batch, c10::Device device, bool group) {
  if (!g.padded()) return {};
  const at::Tensor valid = validity_mask(g, device).unsqueeze(-1);  // [1, N, 1]
  const at::Tensor per_sub = (group ? to_group_layout(valid, g) : to_token_layout(valid, g)).squeeze(-1);  // [P², n]
  // Row s·b + i = sub-sequence s: repeat every sub-sequence's mask b times (tiny bool tensor).
  return per_sub.unsqueeze(1).expand({g.subsequences(), batch, g.n}).reshape({g.subsequences() * batch, g.n});
}

}  // namespace

SkiparseGeometry SkiparseGeometry::make(const std::array<int64_t, 3>& grid, int64_t P) {
  if (P < 1) fail_about("sparse_ratio", "must be at least 1, got {}", P);
  for (int64_t extent : grid) {
    if (extent < 1) fail_about("grid", "token grid ({}, {}, {}) must be positive", grid[0], grid[1], grid[2]);
  }
  SkiparseGeometry g;
  g.T = grid[0];
  g.H = grid[1];
  g.W = grid[2];
  g.P = P;
  // docs/skiparse.md "Padding and validity" step 1: pad = (P² − H mod P²) mod P², independently for H and W.
  g.Hp = round_up(g.H, P * P);
  g.Wp = round_up(g.W, P * P);
  g.n = g.T * g.Hp * g.Wp / (P * P);
  return g;
}

int64_t SkiparseGeometry::valid_tokens_token_layout(int64_t s) const {
  // "Layouts" token: s = p·P + q, p = y mod P, q = x mod P.
  return T * count_axis(H, P, 1, s / P) * count_axis(W, P, 1, s % P);
}

int64_t SkiparseGeometry::valid_tokens_group_layout(int64_t s) const {
  // "Layouts" group: s = p1·P + q1, p1 = ⌊y/P⌋ mod P, q1 = ⌊x/P⌋ mod P.
  return T * count_axis(H, P, P, s / P) * count_axis(W, P, P, s % P);
}

at::Tensor pad(const at::Tensor& x, const SkiparseGeometry& g, double value) {
  check(x, g.tokens(), 1, "skiparse pad");
  if (!g.padded()) return x;
  const int64_t b = x.size(0), C = trailing(x);
  // [b, T, H, W, C]: C last (pad 0, 0), then W (0, Wp − W), then H (0, Hp − H) ("Padding and validity" step 1).
  const at::Tensor padded =
      at::constant_pad_nd(x.reshape({b, g.T, g.H, g.W, C}), {0, 0, 0, g.Wp - g.W, 0, g.Hp - g.H}, value);
  return padded.view(shape_with(x, b, g.padded_tokens()));
}

at::Tensor crop(const at::Tensor& x, const SkiparseGeometry& g) {
  check(x, g.padded_tokens(), 1, "skiparse crop");
  if (!g.padded()) return x;
  const int64_t b = x.size(0), C = trailing(x);
  // "Padding and validity" step 4: [:, :, :H, :W, :] on [b, T, Hp, Wp, C].
  return x.reshape({b, g.T, g.Hp, g.Wp, C}).narrow(2, 0, g.H).narrow(3, 0, g.W).reshape(shape_with(x, b, g.tokens()));
}

at::Tensor to_token_layout(const at::Tensor& x, const SkiparseGeometry& g) {
  check(x, g.padded_tokens(), 1, "skiparse token layout");
  const int64_t b = x.size(0), C = trailing(x), P = g.P, h = g.Hp / P, w = g.Wp / P;
  // b (t h p w q) c -> (p q b) (t h w) c
  //   dims [b, t, h, p, w, q, c] = 0..6 → [p, q, b, t, h, w, c]
  return x.reshape({b, g.T, h, P, w, P, C})
      .permute({3, 5, 0, 1, 2, 4, 6})
      .reshape(shape_with(x, P * P * b, g.n));
}

at::Tensor from_token_layout(const at::Tensor& x, const SkiparseGeometry& g) {
  check(x, g.n, g.subsequences(), "skiparse token reverse");
  const int64_t P = g.P, b = x.size(0) / (P * P), C = trailing(x), h = g.Hp / P, w = g.Wp / P;
  // (p q b) (t h w) c -> b (t h p w q) c
  //   dims [p, q, b, t, h, w, c] = 0..6 → [b, t, h, p, w, q, c]
  return x.reshape({P, P, b, g.T, h, w, C})
      .permute({2, 3, 4, 0, 5, 1, 6})
      .reshape(shape_with(x, b, g.padded_tokens()));
}

at::Tensor to_group_layout(const at::Tensor& x, const SkiparseGeometry& g) {
  check(x, g.padded_tokens(), 1, "skiparse group layout");
  const int64_t b = x.size(0), C = trailing(x), P = g.P, hh = g.Hp / (P * P), ww = g.Wp / (P * P);
  // b (t hh p1 p2 ww q1 q2) c -> (p1 q1 b) (t hh p2 ww q2) c
  //   dims [b, t, hh, p1, p2, ww, q1, q2, c] = 0..8 → [p1, q1, b, t, hh, p2, ww, q2, c]
  return x.reshape({b, g.T, hh, P, P, ww, P, P, C})
      .permute({3, 6, 0, 1, 2, 4, 5, 7, 8})
      .reshape(shape_with(x, P * P * b, g.n));
}

at::Tensor from_group_layout(const at::Tensor& x, const SkiparseGeometry& g) {
  check(x, g.n, g.subsequences(), "skiparse group reverse");
  const int64_t P = g.P, b = x.size(0) / (P * P), C = trailing(x), hh = g.Hp / (P * P), ww = g.Wp / (P * P);
  // (p1 q1 b) (t hh p2 ww q2) c -> b (t hh p1 p2 ww q1 q2) c
  //   dims [p1, q1, b, t, hh, p2, ww, q2, c] = 0..8 → [b, t, hh, p1, p2, ww, q1, q2, c]
  return x.reshape({P, P, b, g.T, hh, P, ww, P, C})
      .permute({2, 3, 4, 0, 5, 6, 1, 7, 8})
      .reshape(shape_with(x, b, g.padded_tokens()));
}

at::Tensor switch_layout(const at::Tensor& x, const SkiparseGeometry& g) {
  check(x, g.n, g.subsequences(), "skiparse switch");
  const int64_t P = g.P, b = x.size(0) / (P * P), C = trailing(x);
  const int64_t A = g.T * g.Hp / (P * P), B = g.Wp / (P * P);
  // (p2 q2 b) (A p1 B q1) c -> (p1 q1 b) (A p2 B q2) c
  //   dims [p2, q2, b, A, p1, B, q1, c] = 0..7 → [p1, q1, b, A, p2, B, q2, c]
  return x.reshape({P, P, b, A, P, B, P, C})
      .permute({4, 6, 2, 3, 0, 5, 1, 7})
      .reshape(shape_with(x, P * P * b, g.n));
}

at::Tensor validity_mask(const SkiparseGeometry& g, c10::Device device) {
  // "Padding and validity" step 2: true iff y < H and x < W, built on the padded grid.
  const auto options = at::TensorOptions().dtype(at::kBool).device(device);
  const at::Tensor rows = at::arange(g.Hp, options.dtype(at::kLong)).lt(g.H).view({1, g.Hp, 1});
  const at::Tensor cols = at::arange(g.Wp, options.dtype(at::kLong)).lt(g.W).view({1, 1, g.Wp});
  return rows.logical_and(cols).expand({g.T, g.Hp, g.Wp}).reshape({1, g.padded_tokens()});
}

at::Tensor token_layout_mask(const SkiparseGeometry& g, int64_t batch, c10::Device device) {
  return layout_mask(g, batch, device, /*group=*/false);
}

at::Tensor group_layout_mask(const SkiparseGeometry& g, int64_t batch, c10::Device device) {
  return layout_mask(g, batch, device, /*group=*/true);
}

ValidFirstOrder valid_first_order(const at::Tensor& key_mask) {
  TORCH_CHECK(key_mask.dim() == 2 && key_mask.scalar_type() == at::kBool, "valid_first_order: expected bool [B, n], got ",
              key_mask.sizes());
  // Stable sort on "is padding" (0 = valid): valid positions first, each group in increasing order.
  const at::Tensor padding = key_mask.logical_not().to(at::kByte);
  const at::Tensor order = std::get<1>(at::sort(padding, /*stable=*/true, /*dim=*/1, /*descending=*/false));
  return {order, key_mask.sum(1).to(at::kLong)};
}

}  // namespace osp::attention
