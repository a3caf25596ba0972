#pragma once
// Per-pixel weights of the VAE's reconstruction L1 (vae_objective.h). Two reasons to leave the
// plain mean: the causal decoder draws frame 0 alone from the first latent frame, and at 1 frame
// in 17 it is learned last (vae.first_frame_weight); and on flat-background data such as Shapes a
// small object is a few percent of the pixels, so a VAE that paints it in the background's hue
// loses almost nothing (vae.foreground_weight).
#include <ATen/ATen.h>

namespace osp::train {

// RGB distance (clip units, [−1, 1] per channel) from a frame's border colour beyond which a pixel
// counts as foreground: a quarter of the Shapes palette's smallest colour distance (208/255 · 2).
constexpr double kForegroundDistance = 0.4;

// Float [B, 1, T, H, W]: 1 where the pixel of clips [B, 3, T, H, W] is farther than `distance`
// from its frame's border colour (the per-channel median of the 1-pixel border ring), else 0.
at::Tensor foreground_mask(const at::Tensor& clips, double distance = kForegroundDistance);

// Float [B, 1, T, H, W]: first_frame_weight on frame 0 (1 on the others), times foreground_weight
// on foreground pixels (1 on the rest). Both 1: all ones.
at::Tensor reconstruction_weights(const at::Tensor& clips, double first_frame_weight, double foreground_weight);

// The weighted mean of error [B, C, T, H, W] under weights [B, 1, T, H, W] (broadcast over C):
// Σ w·e / (C · Σ w). All-ones weights give the plain mean.
at::Tensor weighted_mean(const at::Tensor& error, const at::Tensor& weights);

}  // namespace osp::train
