#include "osp/core/torch_compat.h"

#include <torch/cuda.h>

namespace osp::compat {

at::Tensor sdpa_or_undefined(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale,
                             const at::Tensor& attn_mask) {
#if OSP_TORCH_AT_LEAST(2, 1)  // kHasSdpa
  if (attn_mask.defined()) return at::scaled_dot_product_attention(q, k, v, attn_mask, 0.0, false, scale);
  return at::scaled_dot_product_attention(q, k, v, {}, 0.0, false, scale);
#else
  (void)q, (void)k, (void)v, (void)scale, (void)attn_mask;
  return {};
#endif
}

const char* torch_version() { return TORCH_VERSION; }

void synchronize(const c10::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.has_index() ? device.index() : -1);
}

}  // namespace osp::compat
