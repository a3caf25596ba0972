#include "osp/pipeline/generation_params.h"

#include <cmath>

#include "osp/core/error.h"
#include "osp/diffusion/sampler.h"

namespace osp::pipeline {
namespace {

// The values of the lattice `offset + period·k` (k ≥ 0) nearest to `value`: the one at or below
// and the one at or above (a single one when value is at or below the lattice's start).
std::pair<int64_t, int64_t> nearest_on_lattice(int64_t value, int64_t offset, int64_t period) {
  if (value <= offset) return {offset, offset};
  const int64_t below = offset + (value - offset) / period * period;
  return {below, below == value ? below : below + period};
}

std::string choices(std::pair<int64_t, int64_t> nearest) {
  if (nearest.first == nearest.second) return std::to_string(nearest.first);
  return std::to_string(nearest.first) + " or " + std::to_string(nearest.second);
}

void validate_size(const char* flag, int64_t size) {
  if (size > 0 && size % 16 == 0) return;
  fail_about(flag, "{} is not a positive multiple of 16 (the VAE downsamples by 8 and the DiT patches by 2); "
             "nearest valid: {}", size, choices(nearest_valid_size(size)));
}

}  // namespace

std::pair<int64_t, int64_t> nearest_valid_frames(int64_t frames) { return nearest_on_lattice(frames, 1, 4); }

std::pair<int64_t, int64_t> nearest_valid_size(int64_t size) { return nearest_on_lattice(size, 16, 16); }

GenerationParams osp_next_defaults() {
  GenerationParams p;  // docs/sampling.md "OSP-Next inference defaults": the Wan size (1280×720), 81 frames, 50 steps, g = 5, 16 fps
  p.sampler = "euler";
  p.shift = 7.0;
  return p;
}

void validate(const GenerationParams& params) {
  validate_size("-W/--width", params.width);
  validate_size("-H/--height", params.height);
  if (params.frames < 1 || (params.frames - 1) % 4 != 0) {
    fail_about("--frames", "{} is not of the form 4k + 1 (the VAE compresses time by 4 after the first frame); "
               "nearest valid: {}", params.frames, choices(nearest_valid_frames(params.frames)));
  }
  if (params.steps < 1) fail_about("--steps", "must be at least 1, got {}", params.steps);
  if (!(std::isfinite(params.shift) && params.shift > 0.0)) {
    fail_about("--shift", "must be a positive number, got {}", params.shift);
  }
  if (!(std::isfinite(params.guidance) && params.guidance >= 0.0)) {
    fail_about("--cfg", "guidance scale must be a finite number ≥ 0, got {}", params.guidance);
  }
  if (params.fps < 1) fail_about("--fps", "must be at least 1, got {}", params.fps);
  diffusion::parse_sampler(params.sampler, "--sampler");
}

}  // namespace osp::pipeline
