#include "osp/adapters/linear_layers.h"

namespace osp::adapters {

std::map<std::string, nn::LinearWeights*> linear_layers(torch::nn::Module& model) {
  std::map<std::string, nn::LinearWeights*> layers;
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    if (auto* layer = dynamic_cast<nn::LinearWeights*>(item.value().get())) layers.emplace(item.key(), layer);
  }
  return layers;
}

}  // namespace osp::adapters
