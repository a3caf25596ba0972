#pragma once
// Deterministic random weights for a WanDiT: benchmarks and smoke runs that have no checkpoint.
#include <cstdint>

#include "osp/models/dit/model.h"

namespace osp::dit {

// Fills every parameter from N(0, std²) with a generator seeded by `seed`, then casts into the
// parameter's own dtype; normalization weights become 1 + N(0, std²) so activations keep scale.
void randomize_weights(WanDiT& model, uint64_t seed, double std = 0.02);

}  // namespace osp::dit
