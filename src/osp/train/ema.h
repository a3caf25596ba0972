#pragma once
// Exponential moving average of the trained weights: after every optimizer
// step ema ← decay·ema + (1 − decay)·p, in float32, kept under the parameters' canonical names
// so that the EMA weights load as a model like the trained ones.
#include <ATen/ATen.h>

#include <string>
#include <utility>
#include <vector>

namespace osp::train {

class Ema {
 public:
  // Starts as a float32 copy of `params`.
  Ema(const std::vector<std::pair<std::string, at::Tensor>>& params, double decay);

  void update(const std::vector<std::pair<std::string, at::Tensor>>& params);
  double decay() const { return decay_; }
  const std::vector<std::pair<std::string, at::Tensor>>& weights() const { return weights_; }
  // Restores the averages by name (checkpoints); osp::Error naming a missing or mis-shaped one.
  void load(const std::vector<std::pair<std::string, at::Tensor>>& tensors);

 private:
  std::vector<std::pair<std::string, at::Tensor>> weights_;
  double decay_;
};

}  // namespace osp::train
