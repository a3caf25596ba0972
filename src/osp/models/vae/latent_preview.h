#pragma once
// A cheap picture of a latent without the decoder (docs/vae.md "Latent preview"): each latent
// pixel's normalized channels z map to an RGB colour by one fixed affine map, rgb = W·z + b,
// fitted per VAE by least squares against the mean colour of the video pixels the latent pixel
// stands for. A progress display can show the sampler's current estimate at every step for the
// price of a 3 × z matrix product.
#include <ATen/ATen.h>

#include <cstdint>
#include <string>

namespace osp::vae {

struct LatentPreview {
  at::Tensor weight;  // float64 [3, z]
  at::Tensor bias;    // float64 [3]
};

// How well a map fits the colours it was fitted on, over the three channels in [−1, 1] units.
struct LatentPreviewQuality {
  double rms_error = 0;  // root mean squared residual
  double r_squared = 0;  // 1 − residual / total variance
};

// Accumulates the normal equations of the fit one clip at a time.
class LatentPreviewFit {
 public:
  // time_factor, space_factor: the VAE's strides (VaeConfig::time_factor() / space_factor()).
  LatentPreviewFit(int64_t z_dim, int64_t time_factor, int64_t space_factor);
  // latents [z, T', h, w] normalized; video [3, T, H, W] in [−1, 1] with T = time_factor·(T' − 1) + 1,
  // H = space_factor·h, W = space_factor·w.
  void add(const at::Tensor& latents, const at::Tensor& video);
  int64_t samples() const { return samples_; }
  // The least-squares W, b (a tiny ridge keeps the solve stable when a channel is constant).
  LatentPreview solve() const;
  // The residual of `preview` on the samples added, from the accumulated sums (no second pass).
  LatentPreviewQuality quality(const LatentPreview& preview) const;

 private:
  int64_t z_dim_, time_factor_, space_factor_;
  at::Tensor gram_;   // float64 [z + 1, z + 1]: Σ x xᵀ with x = (z, 1)
  at::Tensor cross_;  // float64 [z + 1, 3]: Σ x rgbᵀ
  at::Tensor sum_sq_;  // float64 [3]: Σ rgb²
  int64_t samples_ = 0;
};

// The mean colour of the video pixels behind each latent pixel: video [3, T, H, W] → [3, T', h, w].
// Latent frame 0 stands for video frame 0; frame k ≥ 1 for frames time_factor·(k − 1) + 1 … time_factor·k.
at::Tensor latent_pixel_colours(const at::Tensor& video, int64_t time_factor, int64_t space_factor);

// latents [z, T', h, w] → uint8 RGB [T', h, w, 3]: clamp(W·z + b, −1, 1) mapped to 0…255.
at::Tensor preview_rgb(const at::Tensor& latents, const LatentPreview& preview);

// The preview file beside a VAE's weights: {"weight": [[…z]×3], "bias": [3 numbers], …}. read
// checks shapes and finiteness and names the file in its errors; write is atomic.
LatentPreview read_latent_preview(const std::string& path, int64_t z_dim);
void write_latent_preview(const std::string& path, const LatentPreview& preview, int64_t samples,
                          const LatentPreviewQuality& quality = {});
// "<folder of vae_weights>/latent_preview.json".
std::string latent_preview_path(const std::string& vae_weights);

}  // namespace osp::vae
