#include "osp/diffusion/guidance.h"

#include <cmath>
#include <utility>

#include "osp/core/error.h"

namespace osp::diffusion {

at::Tensor guide(const at::Tensor& v_conditional, const at::Tensor& v_unconditional, double scale) {
  return v_unconditional + (v_conditional - v_unconditional) * scale;
}

VelocityFn classifier_free_guidance(VelocityFn conditional, VelocityFn unconditional, double scale) {
  if (!std::isfinite(scale)) fail_about("--cfg", "guidance scale must be finite, got {}", scale);
  if (scale == 1.0) return conditional;
  return [conditional = std::move(conditional), unconditional = std::move(unconditional), scale](
             const at::Tensor& x, const StepInfo& step) {
    const at::Tensor v_c = conditional(x, step);
    const at::Tensor v_u = unconditional(x, step);
    return guide(v_c, v_u, scale);
  };
}

}  // namespace osp::diffusion
