#pragma once
// Flow-matching noise-level shifts (docs/sampling.md "Shift" static shift, "Training noise schedule" dynamic shift).
#include <cstdint>

namespace osp::diffusion {

// Static shift s ("Shift"): σ' = s·σ / (1 + (s − 1)·σ), in float64. s = 1 is the identity; σ = 0 and
// σ = 1 are fixed points. Larger s spends more of the steps at high noise.
double shift_sigma(double sigma, double shift);

// The same formula evaluated in float32, operation by operation, as the OSP-Next scheduler does on
// its float32 sigma tensors ("OSP-Next inference defaults"): (s·σ) / (1 + (s − 1)·σ).
float shift_sigma_f32(float sigma, float shift);

// OSP-Next training's dynamic shift ("Training noise schedule" step 2): for a latent of height × width, S = H_l·W_l/4
// tokens per frame after 2×2 patching, s = exp(k·S + b) with k = (1.15 − 0.5)/(4096 − 256),
// b = 0.5 − 256·k. 720×1280 video (latent 90×160): s = 2.9039; 480×832: s = 2.0559.
double dynamic_shift(int64_t latent_height, int64_t latent_width);

}  // namespace osp::diffusion
