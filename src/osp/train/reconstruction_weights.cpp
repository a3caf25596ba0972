#include "osp/train/reconstruction_weights.h"

#include "osp/core/error.h"

namespace osp::train {

at::Tensor foreground_mask(const at::Tensor& clips, double distance) {
  if (clips.dim() != 5 || clips.size(1) != 3) fail_about("clips", "expected [B, 3, T, H, W]");
  const int64_t H = clips.size(3), W = clips.size(4);
  const at::Tensor ring = at::cat({clips.select(3, 0), clips.select(3, H - 1), clips.select(4, 0), clips.select(4, W - 1)},
                                  /*dim=*/3);  // [B, 3, T, 2W + 2H]
  const at::Tensor border = std::get<0>(ring.median(3)).unsqueeze(-1).unsqueeze(-1);  // [B, 3, T, 1, 1]
  return (clips - border).pow(2).sum(1, /*keepdim=*/true).sqrt().gt(distance).to(at::kFloat);
}

at::Tensor reconstruction_weights(const at::Tensor& clips, double first_frame_weight, double foreground_weight) {
  const int64_t B = clips.size(0), T = clips.size(2), H = clips.size(3), W = clips.size(4);
  at::Tensor weights = at::ones({B, 1, T, H, W}, clips.options().dtype(at::kFloat));  // on the clips' device
  if (foreground_weight != 1.0) weights.add_(foreground_mask(clips.detach().to(at::kFloat)), foreground_weight - 1.0);
  if (first_frame_weight != 1.0) weights.narrow(2, 0, 1).mul_(first_frame_weight);
  return weights;
}

at::Tensor weighted_mean(const at::Tensor& error, const at::Tensor& weights) {
  return (error * weights).sum() / (weights.sum() * static_cast<double>(error.size(1)));
}

}  // namespace osp::train
