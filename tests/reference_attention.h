#pragma once
// float64 attention references shared by the attention, fused-kernel and Skiparse tests: explicit
// softmax over dense scores, independent of the kernels under test.
#include <ATen/ATen.h>

#include <cmath>
#include <vector>

namespace osp::test {

// o[r, i, n] = Σ_j softmax_j(scale · q[r,i,n]·k[r mod Bk, j, n]) v[r mod Bk, j, n] over the keys
// with key_mask[r, j] true (undefined mask: all keys); a row without valid keys is zero.
// q [B, Lq, N, D], k and v [Bk, Lk, N, D] with Bk dividing B; returns float64 [B, Lq, N, D].
inline at::Tensor masked_reference_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                             const at::Tensor& key_mask, double scale) {
  const int64_t B = q.size(0), Bk = k.size(0);
  std::vector<at::Tensor> rows;
  for (int64_t r = 0; r < B; ++r) {
    const at::Tensor qd = q[r].to(at::kDouble).transpose(0, 1);       // [N, Lq, D]
    const at::Tensor kd = k[r % Bk].to(at::kDouble).transpose(0, 1);  // [N, Lk, D]
    const at::Tensor vd = v[r % Bk].to(at::kDouble).transpose(0, 1);
    at::Tensor scores = at::matmul(qd, kd.transpose(1, 2)) * scale;   // [N, Lq, Lk]
    if (key_mask.defined()) scores = scores.masked_fill(key_mask[r].logical_not().view({1, 1, -1}), -INFINITY);
    at::Tensor o = at::matmul(at::softmax(scores, -1), vd).transpose(0, 1);  // [Lq, N, D]
    if (key_mask.defined() && !key_mask[r].any().item<bool>()) o = at::zeros_like(o);
    rows.push_back(o);
  }
  return at::stack(rows);
}

// Boolean [B, L]: true at positions below lengths[b].
inline at::Tensor prefix_mask(const std::vector<int64_t>& lengths, int64_t length) {
  const at::Tensor positions = at::arange(length, at::kLong).view({1, length});
  return positions.lt(at::tensor(lengths, at::kLong).view({-1, 1}));
}

}  // namespace osp::test
