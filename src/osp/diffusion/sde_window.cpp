#include "osp/diffusion/sde_window.h"

#include <algorithm>

#include "osp/core/error.h"

namespace osp::diffusion {

StepWindow first_steps_window(int64_t steps, int64_t sde_steps) {
  if (steps < 1) fail_about("num_inference_steps", "must be at least 1, got {}", steps);
  if (sde_steps < 0 || sde_steps > steps) {
    fail_about("sde_steps", "must be between 0 and num_inference_steps = {}, got {}", steps, sde_steps);
  }
  return StepWindow{0, sde_steps};
}

StepWindow sliding_window(int64_t steps, int64_t start, int64_t width) {
  if (steps < 1) fail_about("num_inference_steps", "must be at least 1, got {}", steps);
  if (start < 0) fail_about("window start", "must not be negative, got {}", start);
  if (width < 1) fail_about("window width", "must be at least 1, got {}", width);
  // The window stops two steps before the end; past that it is empty rather than reversed.
  const int64_t end = std::min(start + width, steps - 2);
  return StepWindow{start, std::max(start, end)};
}

void SlidingWindowSchedule::advance(int64_t steps) {
  if (iterations < 1) fail_about("window iterations (tau)", "must be at least 1, got {}", iterations);
  if (stride < 0) fail_about("window stride", "must not be negative, got {}", stride);
  counter += 1;
  if (counter >= iterations) {
    counter = 0;
    start += stride;
  }
  if (start > steps - 2) {
    start = initial_start;
    counter = 0;
  }
}

}  // namespace osp::diffusion
