#include "osp/train/edge_loss.h"

#include "osp/core/error.h"
#include "osp/core/shape.h"

namespace osp::train {
namespace {

// v[..., i + 1, ...] − v[..., i, ...] along `dim`.
at::Tensor forward_difference(const at::Tensor& v, int64_t dim) {
  const int64_t n = v.size(dim);
  return v.narrow(dim, 1, n - 1) - v.narrow(dim, 0, n - 1);
}

}  // namespace

at::Tensor edge_l1(const at::Tensor& reconstruction, const at::Tensor& target) {
  require(reconstruction.sizes() == target.sizes() && reconstruction.dim() == 5,
          "edge loss: reconstruction {} and target {} must be the same [B, C, T, H, W]",
          shape_string(reconstruction.sizes()), shape_string(target.sizes()));
  require(target.size(3) >= 2 && target.size(4) >= 2, "edge loss: frames of {} are too small",
          shape_string(target.sizes()));
  const at::Tensor dx = (forward_difference(reconstruction, 4) - forward_difference(target, 4)).abs().mean();
  const at::Tensor dy = (forward_difference(reconstruction, 3) - forward_difference(target, 3)).abs().mean();
  return dx + dy;
}

}  // namespace osp::train
