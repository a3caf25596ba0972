#pragma once
// Linear layers with their weight hooks (docs/design.md "Module map": nn/ holds the linear
// layers with their weight hooks): a LinearWeights layer runs as
//   - HIF8Linear when fake quantization is on (docs/quantization.md "HIF8Linear": FQ on input and weight, with
//     autograd when a graph is recorded),
//   - the dequantizing GEMM when it holds 8-bit codes (quant/weight8.h),
//   - the dense nn::linear of gemm.h otherwise,
// always under the precision policy of gemm.h.
#include <torch/nn/module.h>

#include "osp/nn/gemm.h"
#include "osp/nn/param_module.h"

namespace osp::nn {

at::Tensor linear(const GemmInput& x, const LinearWeights& layer, Precision precision);
at::Tensor linear(const at::Tensor& x, const LinearWeights& layer, Precision precision);

// Bytes of weights a module holds resident: every parameter and buffer, plus the codes and scales
// of 8-bit layers (whose dense parameter is empty).
int64_t resident_weight_bytes(const torch::nn::Module& module);

// Turns HiF8 fake quantization on for every LinearWeights submodule whose name (relative to
// `module`, e.g. "blocks.0.ffn.0") satisfies `select`; returns how many.
template <typename Select>
int64_t enable_fake_quant(torch::nn::Module& module, const quant::FakeQuantSpec& spec, const Select& select) {
  int64_t count = 0;
  for (const auto& item : module.named_modules("", /*include_self=*/false)) {
    auto* layer = dynamic_cast<LinearWeights*>(item.value().get());
    if (layer != nullptr && select(item.key())) {
      layer->fake_quant = spec;
      ++count;
    }
  }
  return count;
}

}  // namespace osp::nn
