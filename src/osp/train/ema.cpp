#include "osp/train/ema.h"

#include <ATen/core/grad_mode.h>

#include "osp/train/train_checkpoint.h"

namespace osp::train {

Ema::Ema(const std::vector<std::pair<std::string, at::Tensor>>& params, double decay) : decay_(decay) {
  at::NoGradGuard no_grad;
  for (const auto& [name, p] : params) weights_.emplace_back(name, p.detach().to(at::kFloat, false, /*copy=*/true));
}

void Ema::update(const std::vector<std::pair<std::string, at::Tensor>>& params) {
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < weights_.size(); ++i) weights_[i].second.lerp_(params[i].second.to(at::kFloat), 1.0 - decay_);
}

void Ema::load(const std::vector<std::pair<std::string, at::Tensor>>& tensors) {
  for (auto& [name, w] : weights_) copy_by_name(tensors, name, w, "EMA weight");
}

}  // namespace osp::train
