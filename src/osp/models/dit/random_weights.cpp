#include "osp/models/dit/random_weights.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

namespace osp::dit {

namespace {
bool is_norm_weight(const std::string& name) {
  return name.find("norm") != std::string::npos && name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0;
}
}  // namespace

void randomize_weights(WanDiT& model, uint64_t seed, double std) {
  c10::InferenceMode guard;
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (const auto& item : model.named_parameters(true)) {
    at::Tensor value = at::normal(0.0, std, item.value().sizes(), generator, at::TensorOptions().dtype(at::kFloat));
    if (is_norm_weight(item.key())) value.add_(1.0);
    at::Tensor param = item.value();
    param.copy_(value.to(param.device()));
  }
}

}  // namespace osp::dit
