#pragma once
// Deterministic random weights for a Wan VAE: tests, benchmarks and the tiny bundle of
// `osp init-bundle`, where there is no checkpoint.
#include <cstdint>

#include "osp/models/vae/model.h"
#include "osp/nn/random_init.h"

namespace osp::vae {

// Fills every parameter from nn::NormalStream(seed): convolutions N(0, 1/fan_in) (keeps
// activations at unit scale through the RMS norms), norm gammas 1 + N(0, 0.1²), biases
// N(0, 0.02²).
void randomize_weights(WanVAE& model, uint64_t seed);
// The same values for `params` (a WanVAE's named_parameters(), possibly without storage), one
// float32 tensor at a time (release presets written streamed).
void for_each_random_weight(const nn::NamedValues& params, uint64_t seed,
                            const std::function<void(const std::string&, const at::Tensor&)>& visit);

}  // namespace osp::vae
