#include "osp/nn/activation.h"

#include "osp/core/op_profile.h"

#include "osp/nn/autograd.h"
#include "osp/nn/gelu_bf16.h"

namespace osp::nn {

at::Tensor& gelu_tanh_(at::Tensor& x) {
  const profile::Scope scope(profile::OpKind::kActivation);
  if (records_graph(x)) return x = at::gelu(x, "tanh");  // training: GELU's backward needs its input
  if (x.is_cpu() && x.scalar_type() == at::kBFloat16 && x.is_contiguous() &&
      gelu_tanh_bf16_inplace(x.data_ptr<at::BFloat16>(), x.numel()))
    return x;
  return at::gelu_(x, "tanh");
}

at::Tensor silu(const at::Tensor& x) {
  const profile::Scope scope(profile::OpKind::kActivation);
  return at::silu(x);
}

}  // namespace osp::nn
