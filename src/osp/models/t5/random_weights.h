#pragma once
// Deterministic random weights for a umT5 encoder: tests, benchmarks and the tiny bundle of
// `osp init-bundle`, where there is no checkpoint.
#include <cstdint>
#include <functional>
#include <string>

#include "osp/models/t5/encoder.h"

namespace osp::t5 {

// Assigns every weight (T5Config::expected_tensor_shapes() order) from N(0, std²) drawn by
// nn::NormalStream(seed), norm weights 1 + N(0, std²), in the encoder's weight dtype and device.
// The final T5 norm rescales each token to unit RMS, so the output stays finite and of unit scale
// for any std (the relative-position biases, N(0, std²), keep attention close to uniform).
void randomize_t5_weights(T5Encoder& encoder, uint64_t seed, double std = 0.05);
// The same values for `config`'s weights, one float32 tensor at a time, without a model (release
// presets written streamed).
void for_each_random_t5_weight(const T5Config& config, uint64_t seed,
                               const std::function<void(const std::string&, const at::Tensor&)>& visit,
                               double std = 0.05);

}  // namespace osp::t5
