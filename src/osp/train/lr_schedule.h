#pragma once
// The learning rate of each optimizer step (docs/training.md "Learning-rate schedule"): a linear
// warm-up, then constant, or a linear or cosine decay from `decay_start` to min_lr at the run's
// last step. A function of the step alone, so a resumed run continues on the same curve.
#include <cstdint>
#include <string>

namespace osp::train {

enum class LrDecay { kConstant, kLinear, kCosine };

struct LrSchedule {
  double lr = 1e-4;            // the peak rate
  int64_t warmup_steps = 0;    // lr·(step + 1)/warmup_steps for steps 0 … warmup_steps − 1
  LrDecay decay = LrDecay::kConstant;
  int64_t decay_start = 0;     // the decay begins after this many steps (at least warmup_steps)
  int64_t total_steps = 1;     // the run's steps: the last one (total_steps − 1) gets min_lr
  double min_lr = 0;
};

// "constant", "linear" or "cosine"; osp::Error naming the value otherwise.
LrDecay parse_lr_decay(const std::string& name);
const char* lr_decay_name(LrDecay decay);

// The rate for optimizer step `step` (0-based).
double scheduled_lr(const LrSchedule& schedule, int64_t step);

}  // namespace osp::train
