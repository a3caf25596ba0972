#pragma once
// The VAE's edge term (vae.edge_weight, docs/training.md "VAE"): an L1 between the spatial
// finite differences of the reconstruction and of the target. A plain per-pixel L1 barely
// penalises a rounded corner (a few pixels of a small object), so a VAE trained on it alone draws
// squares, triangles and diamonds as blobs; the differences are non-zero only at edges, where the
// corners are.
#include <ATen/ATen.h>

namespace osp::train {

// mean |∂x r − ∂x t| + mean |∂y r − ∂y t| over [B, C, T, H, W] clips, with ∂x v = v[..., x + 1] −
// v[..., x] (and ∂y likewise along H). Both tensors the same shape, H and W at least 2.
at::Tensor edge_l1(const at::Tensor& reconstruction, const at::Tensor& target);

}  // namespace osp::train
