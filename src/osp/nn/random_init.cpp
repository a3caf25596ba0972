#include "osp/nn/random_init.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <map>

namespace osp::nn {

NormalStream::NormalStream(uint64_t seed) : generator_(at::make_generator<at::CPUGeneratorImpl>(seed)) {}

at::Tensor NormalStream::draw(at::IntArrayRef shape, const NormalSpec& spec) {
  return at::normal(spec.mean, spec.std, shape, generator_, at::TensorOptions().dtype(at::kFloat));
}

void for_each_random_tensor(const NamedValues& params, uint64_t seed, const NormalRule& rule,
                            const std::function<void(const std::string& name, const at::Tensor& values)>& visit) {
  NormalStream stream(seed);
  for (const auto& [name, param] : params) {
    if (param.numel() == 0) continue;
    visit(name, stream.draw(param.sizes(), rule(name, param.sizes())));
  }
}

void randomize_parameters(torch::nn::Module& module, uint64_t seed, const NormalRule& rule) {
  c10::InferenceMode guard;
  NamedValues params;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) params.emplace_back(item.key(), item.value());
  std::map<std::string, at::Tensor> by_name(params.begin(), params.end());
  for_each_random_tensor(params, seed, rule, [&](const std::string& name, const at::Tensor& values) {
    at::Tensor param = by_name.at(name);
    param.copy_(values.to(param.device()));
  });
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
