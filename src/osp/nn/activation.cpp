#include "osp/nn/activation.h"

#include "osp/nn/autograd.h"

namespace osp::nn {

at::Tensor& gelu_tanh_(at::Tensor& x) {
  if (records_graph(x)) return x = at::gelu(x, "tanh");  // training: GELU's backward needs its input
  return at::gelu_(x, "tanh");
}

at::Tensor silu(const at::Tensor& x) { return at::silu(x); }

}  // namespace osp::nn
