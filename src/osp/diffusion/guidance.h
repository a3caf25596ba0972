#pragma once
// Classifier-free guidance (docs/sampling.md "Guidance and the negative prompt"): v = v_u + g·(v_c − v_u), both branches at the same
// x and t, the unconditional branch on the negative prompt's context.
#include <ATen/ATen.h>

#include "osp/diffusion/velocity.h"

namespace osp::diffusion {

// v_u + g·(v_c − v_u), in the operands' dtype, as Wan writes it.
at::Tensor guide(const at::Tensor& v_conditional, const at::Tensor& v_unconditional, double scale);

// A velocity that evaluates both branches and guides them. At g == 1 the formula is v_c, so only
// the conditional branch runs (one model call per step instead of two). Other g, including g < 1,
// use the formula as Wan does (OSP-Next instead skips guidance for every g ≤ 1, "Guidance and the negative prompt").
VelocityFn classifier_free_guidance(VelocityFn conditional, VelocityFn unconditional, double scale);

}  // namespace osp::diffusion
