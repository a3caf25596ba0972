#pragma once
// Deterministic random weights for a WanDiT: benchmarks and smoke runs that have no checkpoint.
#include <cstdint>

#include "osp/models/dit/model.h"
#include "osp/nn/random_init.h"

namespace osp::dit {

// Fills every parameter from N(0, std²) with a generator seeded by `seed`, then casts into the
// parameter's own dtype; normalization weights become 1 + N(0, std²) so activations keep scale.
void randomize_weights(WanDiT& model, uint64_t seed, double std = 0.02);
// The values randomize_weights gives `params` (the model's parameters in named_parameters()
// order, possibly without storage), one tensor at a time (nn::for_each_random_tensor).
void for_each_random_weight(const nn::NamedValues& params, uint64_t seed,
                            const std::function<void(const std::string&, const at::Tensor&)>& visit, double std = 0.02);

// Unit-gain random weights (the tiny bundle of `osp init-bundle`): every linear and the patch
// embedding N(0, 1/fan_in), so that each layer keeps its input's scale and the velocity comes out
// at about unit scale like a trained flow model's; biases and modulation tables N(0, 0.02²),
// normalization weights 1 + N(0, 0.02²).
void randomize_weights_unit_gain(WanDiT& model, uint64_t seed);

}  // namespace osp::dit
