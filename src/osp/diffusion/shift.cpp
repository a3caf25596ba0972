#include "osp/diffusion/shift.h"

#include <cmath>

#include "osp/core/error.h"

namespace osp::diffusion {

double shift_sigma(double sigma, double shift) { return shift * sigma / (1.0 + (shift - 1.0) * sigma); }

float shift_sigma_f32(float sigma, float shift) {
  const float numerator = shift * sigma;
  const float denominator = 1.0f + (shift - 1.0f) * sigma;
  return numerator / denominator;
}

double dynamic_shift(int64_t latent_height, int64_t latent_width) {
  require(latent_height > 0 && latent_width > 0, "dynamic shift: latent size {}x{} must be positive", latent_height,
          latent_width);
  // docs/sampling.md "Training noise schedule": base_image_seq 256 → ln s = 0.5, max_image_seq 4096 → ln s = 1.15.
  constexpr double kBaseSeq = 256.0, kMaxSeq = 4096.0, kBaseShift = 0.5, kMaxShift = 1.15;
  const double k = (kMaxShift - kBaseShift) / (kMaxSeq - kBaseSeq);
  const double b = kBaseShift - k * kBaseSeq;
  const double tokens = static_cast<double>(latent_height * latent_width / 4);
  return std::exp(k * tokens + b);
}

}  // namespace osp::diffusion
