#pragma once
// Deterministic random weights for models without a checkpoint (benchmarks, tests, the tiny
// bundle of `osp init-bundle`). One seeded CPU generator draws float32 normals tensor after
// tensor in a fixed order, so the same seed gives the same weights on every machine; each model
// only decides the mean and std of each tensor (models/*/random_weights.h).
#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace osp::nn {

// The normal distribution N(mean, std²) of one tensor's entries.
struct NormalSpec {
  double mean = 0.0;
  double std = 0.0;
};

// Chooses the distribution of a tensor from its canonical name and shape.
using NormalRule = std::function<NormalSpec(const std::string& name, at::IntArrayRef shape)>;

// A seeded stream of float32 normal draws on the CPU.
class NormalStream {
 public:
  explicit NormalStream(uint64_t seed);
  // A new CPU float32 tensor of `shape` drawn from N(spec.mean, spec.std²).
  at::Tensor draw(at::IntArrayRef shape, const NormalSpec& spec);

 private:
  at::Generator generator_;
};

// The values randomize_parameters would give `params` (in this order), one tensor at a time, to
// `visit` instead of into the tensors (which may hold no storage: a model built on the meta device
// and sharded as its values arrive). Empty tensors draw nothing.
using NamedValues = std::vector<std::pair<std::string, at::Tensor>>;
void for_each_random_tensor(const NamedValues& params, uint64_t seed, const NormalRule& rule,
                            const std::function<void(const std::string& name, const at::Tensor& values)>& visit);

// Fills every parameter of `module` (named_parameters() order) from NormalStream(seed) with the
// distribution `rule` picks, converted into the parameter's own dtype and device. Empty
// parameters (e.g. dense weights replaced by 8-bit codes) draw nothing.
void randomize_parameters(torch::nn::Module& module, uint64_t seed, const NormalRule& rule);

// Rule helpers.
bool ends_with(const std::string& name, const std::string& suffix);
// Product of the dimensions after the first: the inputs that feed one output of a linear or
// convolution weight ([out, in, k...]); 1 for a vector.
int64_t fan_in(at::IntArrayRef shape);
// N(0, (gain/√fan_in)²): keeps a layer's output at `gain` times its input's scale.
NormalSpec fan_in_normal(at::IntArrayRef shape, double gain = 1.0);

}  // namespace osp::nn
