#include "osp/parallel/training_strategy.h"

#include <ATen/core/grad_mode.h>

namespace osp::parallel {

double grad_squares(const NamedTensors& tensors) {
  at::NoGradGuard no_grad;
  double squares = 0;
  for (const auto& item : tensors) {
    const at::Tensor& g = item.second.grad();
    if (g.defined()) squares += g.to(at::kDouble).pow(2).sum().item<double>();
  }
  return squares;
}

}  // namespace osp::parallel
