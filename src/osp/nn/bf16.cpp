#include "osp/nn/bf16.h"

#include <ATen/Parallel.h>

namespace osp::nn {

void round_to_bf16_(at::Tensor& x) {
  if (x.scalar_type() == at::kBFloat16) return;
  TORCH_CHECK(x.scalar_type() == at::kFloat, "round_to_bf16_ expects float32, got ", x.scalar_type());
  if (x.is_cpu() && x.is_contiguous()) {
    float* data = x.data_ptr<float>();
    at::parallel_for(0, x.numel(), 1 << 16, [&](int64_t begin, int64_t end) {
      round_span_to_bf16(data + begin, end - begin);
    });
  } else {
    x.copy_(x.to(at::kBFloat16));
  }
}

at::Tensor rounded_to_bf16(const at::Tensor& x) {
  if (x.scalar_type() == at::kBFloat16) return x.to(at::kFloat);
  at::Tensor copy = x.to(at::kFloat, /*non_blocking=*/false, /*copy=*/true, at::MemoryFormat::Contiguous);
  round_to_bf16_(copy);
  return copy;
}

}  // namespace osp::nn
