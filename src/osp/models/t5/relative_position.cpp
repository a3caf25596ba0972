#include "osp/models/t5/relative_position.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <vector>

namespace osp::t5 {

int64_t relative_position_bucket(int64_t rel, int64_t num_buckets, int64_t max_distance) {
  const int64_t half = num_buckets / 2;
  const int64_t base = rel > 0 ? half : 0;
  const int64_t distance = std::abs(rel);
  const int64_t max_exact = half / 2;
  if (distance < max_exact) return base + distance;
  // Reference (Wan T5RelativeEmbedding, HF UMT5Attention): float32 tensor ops with the Python
  // float ln(max_distance / max_exact) rounded to float32; truncation by .long().
  const float scaled = std::log(static_cast<float>(distance) / static_cast<float>(max_exact)) /
                       static_cast<float>(std::log(static_cast<double>(max_distance) / max_exact)) *
                       static_cast<float>(half - max_exact);
  const int64_t large = max_exact + static_cast<int64_t>(scaled);
  return base + std::min(large, half - 1);
}

at::Tensor relative_position_buckets(int64_t length, int64_t num_buckets, int64_t max_distance) {
  // One bucket per distinct rel in (−length, length), then spread over the [i, j] grid.
  std::vector<int64_t> by_rel(static_cast<size_t>(2 * length - 1));
  for (int64_t rel = -(length - 1); rel < length; ++rel) {
    by_rel[static_cast<size_t>(rel + length - 1)] = relative_position_bucket(rel, num_buckets, max_distance);
  }
  at::Tensor buckets = at::empty({length, length}, at::kLong);
  auto* out = buckets.data_ptr<int64_t>();
  for (int64_t i = 0; i < length; ++i) {
    for (int64_t j = 0; j < length; ++j) out[i * length + j] = by_rel[static_cast<size_t>(j - i + length - 1)];
  }
  return buckets;
}

at::Tensor position_bias(const at::Tensor& table, const at::Tensor& buckets) {
  const int64_t length = buckets.size(0);
  const at::Tensor rows = table.index_select(0, buckets.reshape({-1}).to(table.device()));  // [L·L, N]
  return rows.view({length, length, table.size(1)}).permute({2, 0, 1}).contiguous();
}

}  // namespace osp::t5
