#include "osp/nn/time_embedding.h"

namespace osp::nn {

at::Tensor sinusoidal_embedding(const at::Tensor& t, int64_t dim) {
  TORCH_CHECK(dim % 2 == 0 && dim > 0, "sinusoidal_embedding: dim must be even and positive, got ", dim);
  const int64_t half = dim / 2;
  const auto f64 = t.options().dtype(at::kDouble);
  const at::Tensor position = t.to(at::kDouble).reshape({-1});
  // ω_k = 10000^(−k/half), float64 (docs/dit.md "Forward pass" step 2).
  const at::Tensor omega = at::pow(10000.0, -at::arange(half, f64).div(static_cast<double>(half)));
  const at::Tensor angles = at::outer(position, omega);
  return at::cat({at::cos(angles), at::sin(angles)}, 1).to(at::kFloat);
}

}  // namespace osp::nn
