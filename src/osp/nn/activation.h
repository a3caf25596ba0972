#pragma once
// Activations of the Wan DiT (docs/dit.md "Forward pass", "Attention block").
#include <ATen/ATen.h>

namespace osp::nn {

// GELU with the tanh approximation, 0.5x(1+tanh(√(2/π)(x+0.044715x³))) ("Attention block" step 5), in place;
// while an autograd graph is recorded through x (nn/autograd.h), `x` is replaced by a new tensor.
at::Tensor& gelu_tanh_(at::Tensor& x);

// SiLU x·σ(x) (time embedding, "Forward pass" step 2); returns a new tensor.
at::Tensor silu(const at::Tensor& x);

}  // namespace osp::nn
