#pragma once
// Inference or training? Every primitive of nn/ and attention/ has two paths: a fast inference
// path (custom CPU kernels, in-place updates, no graph) and an autograd path of ATen composite ops
// with the same values (same bf16 roundings), taken when a graph is being recorded through one of
// its operands. The model code is the same for both (one DiT forward); the choice lives here.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

namespace osp::nn {

// True when GradMode is on and at least one of `tensors` (undefined ones ignored) requires grad:
// the primitive must then record a differentiable graph and must not write into its operands.
template <typename... Tensors>
bool records_graph(const Tensors&... tensors) {
  if (!at::GradMode::is_enabled()) return false;
  return ((tensors.defined() && tensors.requires_grad()) || ...);
}

// x rounded to bf16 values in float32 storage as a differentiable op (the autograd path of
// round_to_bf16_ / rounded_to_bf16): the float32 → bf16 → float32 casts of autocast, whose
// backward passes the gradient through the same casts.
inline at::Tensor bf16_round_trip(const at::Tensor& x) {
  return x.to(at::kBFloat16).to(at::kFloat);
}

}  // namespace osp::nn
