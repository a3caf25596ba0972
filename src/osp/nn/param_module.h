#pragma once
// Parameter holders: torch::nn::Module subclasses whose registered names reproduce the canonical
// Wan state-dict keys (docs/design.md "Conventions": parameter names equal the official key names), so that
// named_parameters() of a model yields "blocks.3.self_attn.q.weight" etc. and loading is by name.
// The computation lives in free functions (nn/*.h); these classes only own tensors.
#include <torch/nn/module.h>

#include <memory>
#include <optional>
#include <string>

#include "osp/nn/linear_adapter.h"
#include "osp/quant/fake_quant.h"
#include "osp/quant/weight8.h"

namespace osp::nn {

// A module that creates its own parameters. Parameters are created uninitialized (a loader or a
// test fills them) and without autograd: the engine's forward passes are inference.
class ParamModule : public torch::nn::Module {
 protected:
  at::Tensor add_param(const std::string& name, at::IntArrayRef shape, const at::TensorOptions& options);
};

// y = x·weightᵀ + bias: weight [out, in], bias [out]. Weight hooks (applied by nn::linear in
// nn/linear.h): 8-bit codes instead of the dense weight, HiF8 fake quantization, and adapters
// (LoRA, weight deltas) computed beside the base GEMM.
class LinearWeights : public ParamModule {
 public:
  LinearWeights(int64_t in, int64_t out, const at::TensorOptions& options);
  at::Tensor weight;
  at::Tensor bias;
  std::shared_ptr<const quant::QuantizedWeight> quantized;  // set: `weight` is empty
  std::optional<quant::FakeQuantSpec> fake_quant;            // set: HIF8Linear (docs/quantization.md "HIF8Linear")
  LinearAdapters adapters;                                   // runtime adapters (nn/linear_adapter.h)

  // The layer's shape as built (stays valid while `weight` is empty: 8-bit codes, sharded blocks).
  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }

  // Keeps `q` (moved to the weight's device) as the layer's weight and frees the dense one: the
  // registered "weight" parameter becomes an empty tensor. Throws osp::Error on a shape mismatch.
  void set_quantized(quant::QuantizedWeight q);

 private:
  int64_t in_ = 0, out_ = 0;
};

// Weight (and optionally bias) of a normalization layer, [dim] each.
class NormWeights : public ParamModule {
 public:
  NormWeights(int64_t dim, bool with_bias, const at::TensorOptions& options);
  at::Tensor weight;
  at::Tensor bias;  // undefined without bias
};

// Two linears registered as "0" and "2" with an activation between them in the original
// nn.Sequential (text_embedding, time_embedding, ffn).
class TwoLinears : public ParamModule {
 public:
  TwoLinears(int64_t in, int64_t hidden, int64_t out, const at::TensorOptions& options);
  std::shared_ptr<LinearWeights> first;   // "0"
  std::shared_ptr<LinearWeights> second;  // "2"
};

}  // namespace osp::nn
