#include "osp/nn/rope.h"

#include "osp/core/op_profile.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "osp/core/error.h"
#include "osp/nn/autograd.h"

namespace osp::nn {
namespace {

// Angle of pair j (0-based within an axis of `axis_dim` real dims) at position p:
// p · theta^(−2j/axis_dim) (docs/dit.md "3D RoPE"), in float64.
double axis_angle(int64_t position, int64_t pair, int64_t axis_dim, double theta) {
  return static_cast<double>(position) *
         std::pow(theta, -2.0 * static_cast<double>(pair) / static_cast<double>(axis_dim));
}

// Batch row bt / tokens uses table (bt / tokens) / rows_per_table (0 for a single table).
void rotate_rows_inplace(float* x, const float* cos, const float* sin, int64_t batch, int64_t tokens,
                         int64_t heads, int64_t head_dim, int64_t rows_per_table) {
  const int64_t pairs = head_dim / 2;
  at::parallel_for(0, batch * tokens, 64, [&](int64_t begin, int64_t end) {
    for (int64_t bt = begin; bt < end; ++bt) {
      const int64_t row = (bt / tokens) / rows_per_table * tokens + bt % tokens;
      const float* c = cos + row * pairs;
      const float* s = sin + row * pairs;
      for (int64_t n = 0; n < heads; ++n) {
        float* v = x + (bt * heads + n) * head_dim;
        for (int64_t j = 0; j < pairs; ++j) {
          const float re = v[2 * j], im = v[2 * j + 1];
          v[2 * j] = re * c[j] - im * s[j];
          v[2 * j + 1] = re * s[j] + im * c[j];
        }
      }
    }
  });
}

}  // namespace

std::array<int64_t, 3> rope_axis_dims(int64_t head_dim) {
  if (head_dim % 2 != 0 || head_dim < 6) {
    fail_about("head_dim", "RoPE needs an even head dimension of at least 6 to split into (frame, row, column) "
                           "pairs (d − 4⌊d/6⌋, 2⌊d/6⌋, 2⌊d/6⌋), got {}", head_dim);
  }
  const int64_t sixth = head_dim / 6;
  return {head_dim - 4 * sixth, 2 * sixth, 2 * sixth};
}

RopeTable make_rope_table(int64_t head_dim, const std::array<int64_t, 3>& grid, int64_t max_positions,
                          double theta) {
  const auto axis_dims = rope_axis_dims(head_dim);
  static const char* const kAxis[3] = {"frames", "rows", "columns"};
  for (int a = 0; a < 3; ++a) {
    if (grid[a] < 1 || grid[a] > max_positions) {
      fail_about("x", "token grid has {} {}; RoPE positions are tabulated for 1..{} per axis", grid[a], kAxis[a],
                 max_positions);
    }
  }
  const int64_t pairs = head_dim / 2, tokens = grid[0] * grid[1] * grid[2];
  // Per axis: angle table [positions, axis pairs] in float64.
  std::vector<std::vector<double>> axis_angles(3);
  for (int a = 0; a < 3; ++a) {
    const int64_t axis_pairs = axis_dims[a] / 2;
    axis_angles[a].resize(static_cast<size_t>(grid[a] * axis_pairs));
    for (int64_t p = 0; p < grid[a]; ++p) {
      for (int64_t j = 0; j < axis_pairs; ++j) axis_angles[a][p * axis_pairs + j] = axis_angle(p, j, axis_dims[a], theta);
    }
  }
  RopeTable table{grid, at::empty({tokens, pairs}, at::kFloat), at::empty({tokens, pairs}, at::kFloat)};
  float* cos = table.cos.data_ptr<float>();
  float* sin = table.sin.data_ptr<float>();
  for (int64_t fi = 0; fi < grid[0]; ++fi) {
    for (int64_t hi = 0; hi < grid[1]; ++hi) {
      for (int64_t wi = 0; wi < grid[2]; ++wi) {
        const int64_t token = (fi * grid[1] + hi) * grid[2] + wi;
        const int64_t position[3] = {fi, hi, wi};
        int64_t j = 0;
        for (int a = 0; a < 3; ++a) {
          const int64_t axis_pairs = axis_dims[a] / 2;
          for (int64_t k = 0; k < axis_pairs; ++k, ++j) {
            const double angle = axis_angles[a][position[a] * axis_pairs + k];
            cos[token * pairs + j] = static_cast<float>(std::cos(angle));
            sin[token * pairs + j] = static_cast<float>(std::sin(angle));
          }
        }
      }
    }
  }
  return table;
}

void apply_rope_(at::Tensor& x, const RopeTable& table) {
  const profile::Scope scope(profile::OpKind::kRope);
  TORCH_CHECK(x.dim() == 4 && x.scalar_type() == at::kFloat, "apply_rope_: expected float32 [B, L, N, D]");
  const int64_t batch = x.size(0), tokens = x.size(1), heads = x.size(2), head_dim = x.size(3);
  const int64_t tables = table.cos.dim() == 3 ? table.cos.size(0) : 1;
  TORCH_CHECK((table.cos.dim() == 2 || table.cos.dim() == 3) && tokens == table.cos.size(-2) &&
                  head_dim == 2 * table.cos.size(-1) && table.sin.sizes() == table.cos.sizes(),
              "apply_rope_: input [", tokens, ", ", head_dim, "] does not match the table ", table.cos.sizes());
  TORCH_CHECK(batch % tables == 0, "apply_rope_: batch ", batch, " is not a multiple of the ", tables, " tables");
  const int64_t rows_per_table = batch / tables;
  const at::Tensor cos = table.cos.to(x.device()).contiguous(), sin = table.sin.to(x.device()).contiguous();
  if (!records_graph(x) && x.is_cpu() && x.is_contiguous()) {
    rotate_rows_inplace(x.data_ptr<float>(), cos.data_ptr<float>(), sin.data_ptr<float>(), batch, tokens, heads,
                        head_dim, std::max<int64_t>(rows_per_table, 1));
    return;
  }
  // Generic path (training, CUDA, strided x): the same rotation with ATen ops on
  // [S, B/S, L, N, D/2, 2], written back into x, or, while a graph is recorded through x
  // (nn/autograd.h), assigned to `x` as a new tensor.
  const at::Tensor pairs = x.reshape({tables, rows_per_table, tokens, heads, head_dim / 2, 2});
  const at::Tensor re = pairs.select(-1, 0), im = pairs.select(-1, 1);
  const at::Tensor c = cos.view({tables, 1, tokens, 1, head_dim / 2}), s = sin.view({tables, 1, tokens, 1, head_dim / 2});
  const at::Tensor rotated = at::stack({re * c - im * s, re * s + im * c}, -1).view(x.sizes());
  if (records_graph(x)) {
    x = rotated;
  } else {
    x.copy_(rotated);
  }
}

}  // namespace osp::nn
