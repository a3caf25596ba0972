#include "osp/train/latent_foreground.h"

#include "osp/core/error.h"
#include "osp/core/shape.h"

namespace osp::train {

at::Tensor latent_foreground_mask(const at::Tensor& latents, double distance) {
  if (latents.dim() != 5) fail_about("latents", "expected [B, C, T, H, W], got {}", shape_string(latents.sizes()));
  const at::Tensor x = latents.detach().to(at::kFloat);
  const at::Tensor median = std::get<0>(x.flatten(3).median(3)).unsqueeze(-1).unsqueeze(-1);  // [B, C, T, 1, 1]
  const at::Tensor core = (x - median).pow(2).sum(1, /*keepdim=*/true).sqrt().gt(distance).to(at::kFloat);
  return at::max_pool3d(core, {1, 3, 3}, {1, 1, 1}, {0, 1, 1});  // grow by one pixel in H and W
}

WeightedSquares weighted_squares(const at::Tensor& diff, const at::Tensor& x0, double weight, double distance) {
  const at::Tensor squares = diff.to(at::kFloat).pow(2);
  if (weight == 1.0) return {squares.sum(), static_cast<double>(squares.numel())};
  const at::Tensor w = latent_foreground_mask(x0, distance).mul_(weight - 1.0).add_(1.0);
  return {(squares * w).sum(), w.sum().item<double>() * static_cast<double>(diff.size(1))};
}

}  // namespace osp::train
