#pragma once
// The user-facing parameters of one text-to-video generation and their validation, done before any
// model is loaded so that bad flags fail at once with a message naming the flag.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace osp::pipeline {

struct GenerationParams {
  int64_t width = 1280;   // docs/sampling.md "Wan 2.1 defaults" default size 1280×720
  int64_t height = 720;
  int64_t frames = 81;    // 4k + 1
  int64_t steps = 50;
  double shift = 5.0;
  double guidance = 5.0;  // --cfg
  std::string sampler = "unipc";
  int64_t fps = 16;       // of the written video ("Wan 2.1 defaults")
  // The negative prompt of jobs that give none; unset: docs/sampling.md "Default negative prompt". A bundle
  // trained with empty-caption dropout sets "" (its unconditional input is the empty caption).
  std::optional<std::string> negative_prompt;
};

// The OSP-Next inference defaults (docs/sampling.md "OSP-Next inference defaults"): Euler on the float grid, shift 7.
GenerationParams osp_next_defaults();

// Throws osp::Error naming the flag for: width/height not positive multiples of 16 (with the
// nearest valid sizes), frames not 4k + 1 (with the nearest valid counts), steps < 1, a shift that
// is not positive, a guidance scale that is negative or not finite, fps < 1, and an unknown sampler
// (listing the valid ones).
void validate(const GenerationParams& params);

// The valid frame counts (4k + 1, at least 1) nearest to `frames`: {below, above}; equal when
// only one is nearest or `frames` is itself valid (then both are `frames`).
std::pair<int64_t, int64_t> nearest_valid_frames(int64_t frames);

// The positive multiples of 16 nearest to `size`: {below, above}, as above.
std::pair<int64_t, int64_t> nearest_valid_size(int64_t size);

}  // namespace osp::pipeline
