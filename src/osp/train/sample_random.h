#pragma once
// Counter-based randomness of training (trainer.h "Determinism"): every sample draws from its own
// generator keyed by (seed, its serial number in the run), so the random state of a run is the
// number of samples drawn, whatever the number of ranks.
#include <ATen/ATen.h>

#include <cstdint>

namespace osp::train {

at::Generator sample_generator(uint64_t seed, int64_t serial);

}  // namespace osp::train
