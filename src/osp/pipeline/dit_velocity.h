#pragma once
// The DiT as the sampling loop's velocity callback: the glue between diffusion::sample and
// dit::WanDiT::forward, with classifier-free guidance over two text contexts.
#include <ATen/ATen.h>

#include "osp/diffusion/velocity.h"
#include "osp/models/dit/model.h"

namespace osp::pipeline {

// v(x, step) = model.forward(x[None], [t_i], context)[0] for the loop's latent x [C, F, H, W] (any
// float dtype; the DiT reads it as float32 on its device) and context [1, L, text_dim]. The model
// timestep is passed exactly as the grid holds it (float64: integral for the Wan grids, the float32
// 1000·σ for OSP-Next). Returns float32 v on x's device. `model` must outlive the callback.
diffusion::VelocityFn dit_velocity(const dit::WanDiT& model, at::Tensor context);

// Guided velocity (spec/sampling.md §6): v_u + g·(v_c − v_u) with the prompt's and the negative
// prompt's contexts; g == 1 runs only the conditional forward.
diffusion::VelocityFn guided_dit_velocity(const dit::WanDiT& model, at::Tensor context, at::Tensor negative_context,
                                          double guidance);

}  // namespace osp::pipeline
