#include "osp/nn/activation.h"

namespace osp::nn {

at::Tensor& gelu_tanh_(at::Tensor& x) { return at::gelu_(x, "tanh"); }

at::Tensor silu(const at::Tensor& x) { return at::silu(x); }

}  // namespace osp::nn
