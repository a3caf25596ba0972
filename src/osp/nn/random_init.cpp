#include "osp/nn/random_init.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

#include <cmath>

namespace osp::nn {

NormalStream::NormalStream(uint64_t seed) : generator_(at::make_generator<at::CPUGeneratorImpl>(seed)) {}

at::Tensor NormalStream::draw(at::IntArrayRef shape, const NormalSpec& spec) {
  return at::normal(spec.mean, spec.std, shape, generator_, at::TensorOptions().dtype(at::kFloat));
}

void randomize_parameters(torch::nn::Module& module, uint64_t seed, const NormalRule& rule) {
  c10::InferenceMode guard;
  NormalStream stream(seed);
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    at::Tensor param = item.value();
    if (param.numel() == 0) continue;
    param.copy_(stream.draw(param.sizes(), rule(item.key(), param.sizes())).to(param.device()));
  }
}

bool ends_with(const std::string& name, const std::string& suffix) {
  return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

int64_t fan_in(at::IntArrayRef shape) {
  int64_t n = 1;
  for (size_t i = 1; i < shape.size(); ++i) n *= shape[i];
  return n;
}

NormalSpec fan_in_normal(at::IntArrayRef shape, double gain) {
  return {0.0, gain / std::sqrt(static_cast<double>(fan_in(shape)))};
}

}  // namespace osp::nn
