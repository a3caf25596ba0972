#include "osp/nn/norm.h"

#include "osp/core/op_profile.h"

#include <ATen/Parallel.h>

#include <cmath>

#include "osp/nn/autograd.h"
#include "osp/nn/bf16.h"

namespace osp::nn {
namespace {

// Sum of squares of one row with independent partial sums (vectorizable without -ffast-math).
float sum_of_squares(const float* x, int64_t n) {
  constexpr int kLanes = 16;
  float partial[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) partial[j] += x[i + j] * x[i + j];
  }
  float total = 0.f;
  for (int j = 0; j < kLanes; ++j) total += partial[j];
  for (; i < n; ++i) total += x[i] * x[i];
  return total;
}

void rms_norm_rows_inplace(float* data, const float* weight, int64_t rows, int64_t width, float eps,
                           bool round_normalized) {
  at::parallel_for(0, rows, 16, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      float* row = data + r * width;
      const float inv = 1.f / std::sqrt(sum_of_squares(row, width) / static_cast<float>(width) + eps);
      for (int64_t i = 0; i < width; ++i) row[i] *= inv;
      if (round_normalized) round_span_to_bf16(row, width);
      for (int64_t i = 0; i < width; ++i) row[i] *= weight[i];
    }
  });
}

}  // namespace

at::Tensor layer_norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, double eps) {
  const profile::Scope scope(profile::OpKind::kNorm);
  const at::Tensor xf = x.scalar_type() == at::kFloat ? x : x.to(at::kFloat);
  const auto as_opt = [](const at::Tensor& t) -> c10::optional<at::Tensor> {
    if (!t.defined()) return c10::nullopt;
    return t.scalar_type() == at::kFloat ? t : t.to(at::kFloat);
  };
  return at::layer_norm(xf, {xf.size(-1)}, as_opt(weight), as_opt(bias), eps);
}

at::Tensor rms_norm(at::Tensor x, const at::Tensor& weight, double eps, bool round_normalized) {
  const profile::Scope scope(profile::OpKind::kNorm);
  const int64_t width = x.size(-1);
  TORCH_CHECK(weight.numel() == width, "rms_norm: weight has ", weight.numel(), " elements, input width ", width);
  const bool training = records_graph(x, weight);
  const at::Tensor w = training ? weight.to(at::kFloat) : weight.to(at::kFloat).contiguous();
  if (!training && x.is_cpu() && x.scalar_type() == at::kFloat && x.is_contiguous()) {
    rms_norm_rows_inplace(x.data_ptr<float>(), w.data_ptr<float>(), x.numel() / width, width,
                          static_cast<float>(eps), round_normalized);
    return x;
  }
  // Generic path (training, CUDA, bf16 tensors): same formula with out-of-place ATen ops.
  const at::Tensor xf = x.to(at::kFloat);
  at::Tensor normalized = xf * at::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps);
  if (round_normalized) normalized = bf16_round_trip(normalized);
  return normalized * w;
}

}  // namespace osp::nn
