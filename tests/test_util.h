#pragma once
// Helpers shared by the numeric tests: precisions, seeded random tensors, relative error.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "osp/core/precision.h"

namespace osp::test {

constexpr Precision kFp32{PrecisionMode::kFp32};
constexpr Precision kBf16{PrecisionMode::kBf16};

// ‖a − b‖ / ‖b‖ in float64.
inline double rel_error(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor bd = b.to(at::kDouble);
  return (a.to(at::kDouble) - bd).norm().item<double>() / bd.norm().item<double>();
}

// float32 N(0, std²) samples from generator `g`.
inline at::Tensor randn(at::IntArrayRef shape, at::Generator& g, double std = 1.0) {
  return at::normal(0.0, std, shape, g, at::TensorOptions().dtype(at::kFloat));
}

// float32 N(0, std²) samples from a generator seeded with `seed`.
inline at::Tensor randn(at::IntArrayRef shape, uint64_t seed, double std = 1.0) {
  at::Generator g = at::detail::createCPUGenerator(seed);
  return randn(shape, g, std);
}

}  // namespace osp::test
