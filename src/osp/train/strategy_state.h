#pragma once
// A training strategy's state as a checkpoint holds it: whole tensors under their parameter names
// (the trained weights, their EMA and the optimizer's moments "<name>.exp_avg" / ".exp_avg_sq"),
// whether this rank holds the whole tensors (replicated) or 1/N of them (fully sharded). Shared
// by the SFT trainer and RL, which both keep their moments and EMA for the strategy's owned().
#include <ATen/ATen.h>

#include <functional>
#include <string>
#include <vector>

#include "osp/parallel/training_strategy.h"
#include "osp/train/ema.h"
#include "osp/train/optimizer.h"
#include "osp/train/train_checkpoint.h"

namespace osp::train {

std::vector<at::Tensor> tensors_of(const NamedTensors& named);

// The optimizer's moments per owned tensor (AdamW::state() interleaves them).
struct Moments {
  std::vector<at::Tensor> exp_avg, exp_avg_sq;
};
Moments moments_of(const NamedTensors& state);

// Fills into.model, into.ema and into.optimizer with whole tensors. Collective under full sharding:
// every rank of the strategy's group calls it (every rank gets them).
void unshard_state(const parallel::TrainingStrategy& strategy, const Ema& ema, const AdamW& optimizer,
                   TrainCheckpoint& into);

// The reverse: this rank's part of every weight, EMA and moment from a checkpoint's whole tensors
// (osp::Error naming a missing or mis-shaped tensor).
void reshard_state(const parallel::TrainingStrategy& strategy, const TrainCheckpoint& from, Ema& ema,
                   AdamW& optimizer);

}  // namespace osp::train
