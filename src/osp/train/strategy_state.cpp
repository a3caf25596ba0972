#include "osp/train/strategy_state.h"

namespace osp::train {
namespace {

// A checkpoint's tensor `name + suffix` with the expected shape (osp::Error naming it otherwise).
std::function<at::Tensor(const std::string&, at::IntArrayRef)> lookup(const NamedTensors& from, std::string suffix,
                                                                      std::string what) {
  return [&from, suffix, what](const std::string& name, at::IntArrayRef shape) {
    at::Tensor into = at::empty(shape, at::kFloat);
    copy_by_name(from, name + suffix, into, what);
    return into;
  };
}

NamedTensors with_suffix(NamedTensors tensors, const std::string& suffix) {
  for (auto& item : tensors) item.first += suffix;
  return tensors;
}

}  // namespace

std::vector<at::Tensor> tensors_of(const NamedTensors& named) {
  std::vector<at::Tensor> out;
  for (const auto& item : named) out.push_back(item.second);
  return out;
}

Moments moments_of(const NamedTensors& state) {
  Moments m;
  for (size_t i = 0; i + 1 < state.size(); i += 2) {
    m.exp_avg.push_back(state[i].second);
    m.exp_avg_sq.push_back(state[i + 1].second);
  }
  return m;
}

void unshard_state(const parallel::TrainingStrategy& strategy, const Ema& ema, const AdamW& optimizer,
                   TrainCheckpoint& into) {
  const Moments moments = moments_of(optimizer.state());
  into.model = strategy.unshard(tensors_of(strategy.owned()));
  into.ema = strategy.unshard(tensors_of(ema.weights()));
  into.optimizer = with_suffix(strategy.unshard(moments.exp_avg), ".exp_avg");
  for (auto& item : with_suffix(strategy.unshard(moments.exp_avg_sq), ".exp_avg_sq")) {
    into.optimizer.push_back(std::move(item));
  }
}

void reshard_state(const parallel::TrainingStrategy& strategy, const TrainCheckpoint& from, Ema& ema,
                   AdamW& optimizer) {
  const Moments moments = moments_of(optimizer.state());
  strategy.reshard(lookup(from.model, "", "model weight"), tensors_of(strategy.owned()));
  strategy.reshard(lookup(from.ema, "", "EMA weight"), tensors_of(ema.weights()));
  strategy.reshard(lookup(from.optimizer, ".exp_avg", "optimizer state"), moments.exp_avg);
  strategy.reshard(lookup(from.optimizer, ".exp_avg_sq", "optimizer state"), moments.exp_avg_sq);
}

}  // namespace osp::train
