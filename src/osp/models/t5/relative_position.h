#pragma once
// umT5 relative position bias (docs/text-encoder.md "Self-attention" step 2, "Relative position buckets").
#include <ATen/ATen.h>

#include <cstdint>

namespace osp::t5 {

// Bidirectional bucket of rel = key_position − query_position ("Relative position buckets"): half of `num_buckets`
// per direction (the upper half for rel > 0); within a half, |rel| below a quarter of num_buckets
// is its own bucket, larger distances share logarithmic buckets up to `max_distance`. The log is
// evaluated in float32 exactly as the reference does, so every config matches it bucket for
// bucket (for umT5's 32 / 128 the result equals the table of "Relative position buckets").
int64_t relative_position_bucket(int64_t rel, int64_t num_buckets, int64_t max_distance);

// Buckets of every (query i, key j) pair: int64 [length, length], entry [i][j] = bucket(j − i).
at::Tensor relative_position_buckets(int64_t length, int64_t num_buckets, int64_t max_distance);

// β [num_heads, length, length] with β[h, i, j] = table[buckets[i, j], h]; `table` is a layer's
// [num_buckets, num_heads] embedding, returned in its dtype on its device.
at::Tensor position_bias(const at::Tensor& table, const at::Tensor& buckets);

}  // namespace osp::t5
