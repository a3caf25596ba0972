#pragma once
// Sinusoidal timestep embedding of the Wan DiT (docs/dit.md "Forward pass" step 2).
#include <ATen/ATen.h>

namespace osp::nn {

// t [B] (any floating or integer dtype; fractional timesteps allowed) → [B, dim] float32:
// ω_k = 10000^(−k/(dim/2)), s = [cos(t·ω_0 … t·ω_{dim/2−1}), sin(…)] — cos half first, computed in
// float64 from t as given, then cast to float32. dim must be even.
at::Tensor sinusoidal_embedding(const at::Tensor& t, int64_t dim);

}  // namespace osp::nn
