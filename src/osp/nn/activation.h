#pragma once
// Activations of the Wan DiT (spec/wan-dit.md §3, §5).
#include <ATen/ATen.h>

namespace osp::nn {

// GELU with the tanh approximation, 0.5x(1+tanh(√(2/π)(x+0.044715x³))) (spec §5 step 5), in place;
// while an autograd graph is recorded through x (nn/autograd.h), `x` is replaced by a new tensor.
at::Tensor& gelu_tanh_(at::Tensor& x);

// SiLU x·σ(x) (time embedding, spec §3 step 2); returns a new tensor.
at::Tensor silu(const at::Tensor& x);

}  // namespace osp::nn
