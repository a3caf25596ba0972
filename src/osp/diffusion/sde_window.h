#pragma once
// Which rollout steps are stochastic (SDE) and trained; the others are deterministic Euler (ODE)
// steps (docs/rl.md "SDE window"). OSP-Next makes the first K steps stochastic; MixGRPO slides a
// window of w steps along the trajectory as training progresses.
#include <cstdint>

namespace osp::diffusion {

// The half-open step range [begin, end) of SDE steps of an N-step rollout. May be empty.
struct StepWindow {
  int64_t begin = 0;
  int64_t end = 0;

  bool contains(int64_t i) const { return i >= begin && i < end; }
  int64_t size() const { return end - begin; }
};

// OSP-Next: steps 0..K−1 are SDE steps. osp::Error unless 1 ≤ steps and 0 ≤ K ≤ steps.
StepWindow first_steps_window(int64_t steps, int64_t sde_steps);

// MixGRPO: [c, min(c + w, N − 2)), empty when c ≥ N − 2 (the last two steps are never in the
// window). osp::Error unless 1 ≤ steps, c ≥ 0 and w ≥ 1.
StepWindow sliding_window(int64_t steps, int64_t start, int64_t width);

// MixGRPO's progressive schedule of the window start c. After each training iteration call
// advance(): the counter counts iterations; when it reaches τ it restarts at 0 and c moves by
// `stride`; a c beyond N − 2 rolls back to its initial value (and the counter restarts).
struct SlidingWindowSchedule {
  int64_t initial_start = 0;    // c at the beginning of training and after a roll-back
  int64_t start = 0;            // the current c
  int64_t counter = 0;          // iterations done at the current c
  int64_t iterations = 25;      // τ (MixGRPO-Flash: 20)
  int64_t stride = 1;           // how far c moves (Flash*: 0, the window stays)
  int64_t width = 4;            // w

  // The window of the current c.
  StepWindow window(int64_t steps) const { return sliding_window(steps, start, width); }
  // One training iteration done. osp::Error unless τ ≥ 1 and stride ≥ 0.
  void advance(int64_t steps);
};

}  // namespace osp::diffusion
