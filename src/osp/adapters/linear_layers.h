#pragma once
// The linear layers of a model by canonical module name ("blocks.3.self_attn.q", "head.head"):
// the places adapters attach to.
#include <torch/nn/module.h>

#include <map>
#include <string>

#include "osp/nn/param_module.h"

namespace osp::adapters {

std::map<std::string, nn::LinearWeights*> linear_layers(torch::nn::Module& model);

}  // namespace osp::adapters
