#pragma once
// Object-weighted flow matching for the DiT (docs/training.md "Weighting the object"). On data
// with a flat background (Shapes) the object is a few percent of the latent pixels, so the plain
// mean of the squared error is almost all background: a model that draws the right colour as a
// round blob loses almost nothing by ignoring the shape and the motion words. Weighting the latent
// pixels of the object (found in the clean latents x0, so the weights do not depend on the noise)
// gives them the share of the loss that the prompt gives them.
#include <ATen/ATen.h>

namespace osp::train {

// Float [B, 1, T, H, W]: 1 where the latent pixel of latents [B, C, T, H, W] lies farther than
// `distance` (Euclidean over C) from its frame's per-channel median over all H·W pixels, grown by
// one latent pixel along H and W (a shape is told by its edges, which the threshold cuts short).
// The median of the whole frame, not of its border ring: a VAE's latents carry padding artefacts
// along the border.
at::Tensor latent_foreground_mask(const at::Tensor& latents, double distance);

// The two sums of one batch's weighted mean squared error: Σ w·diff² (a scalar tensor, with the
// gradient of diff) and C·Σ w, where w = 1 + (weight − 1)·latent_foreground_mask(x0, distance)
// per latent pixel, broadcast over the C channels. Batches of different latent sizes add their
// sums, so the loss stays one weighted mean; weight 1 gives exactly the plain squares and numel.
struct WeightedSquares {
  at::Tensor sum;
  double weight = 0;
};
WeightedSquares weighted_squares(const at::Tensor& diff, const at::Tensor& x0, double weight, double distance);

}  // namespace osp::train
