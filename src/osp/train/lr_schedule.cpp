#include "osp/train/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "osp/core/error.h"

namespace osp::train {

LrDecay parse_lr_decay(const std::string& name) {
  if (name == "constant") return LrDecay::kConstant;
  if (name == "linear") return LrDecay::kLinear;
  if (name == "cosine") return LrDecay::kCosine;
  fail("must be constant, linear or cosine, got '{}'", name);
}

const char* lr_decay_name(LrDecay decay) {
  switch (decay) {
    case LrDecay::kConstant: return "constant";
    case LrDecay::kLinear: return "linear";
    case LrDecay::kCosine: return "cosine";
  }
  return "constant";
}

double scheduled_lr(const LrSchedule& s, int64_t step) {
  if (s.warmup_steps > 0 && step < s.warmup_steps) {
    return s.lr * static_cast<double>(step + 1) / static_cast<double>(s.warmup_steps);
  }
  if (s.decay == LrDecay::kConstant) return s.lr;
  // Progress through the decay: 0 at step decay_start, 1 at the last step (total_steps − 1).
  const int64_t start = std::max(s.decay_start, s.warmup_steps);
  const int64_t span = s.total_steps - 1 - start;
  if (step <= start) return s.lr;
  const double p = span > 0 ? std::min(1.0, static_cast<double>(step - start) / static_cast<double>(span)) : 1.0;
  const double kept = s.decay == LrDecay::kLinear ? 1.0 - p : 0.5 * (1.0 + std::cos(M_PI * p));
  return s.min_lr + (s.lr - s.min_lr) * kept;
}

}  // namespace osp::train
