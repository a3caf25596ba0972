#pragma once
// The DiT as the sampling loop's velocity callback: the glue between diffusion::sample and
// dit::WanDiT::forward, with classifier-free guidance over two text contexts.
#include <ATen/ATen.h>

#include "osp/diffusion/velocity.h"
#include "osp/models/dit/model.h"
#include "osp/parallel/distributed_dit.h"

#include <memory>
#include <vector>

namespace osp::pipeline {

// v(x, step) = model.forward(x[None], [t_i], context)[0] for the loop's latent x [C, F, H, W] (any
// float dtype; the DiT reads it as float32 on its device) and context [1, L, text_dim]. The model
// timestep is passed exactly as the grid holds it (float64: integral for the Wan grids, the float32
// 1000·σ for OSP-Next). Returns float32 v on x's device. `model` must outlive the callback.
// The callback owns a dit::TextContext: the embedded text and the cross-attention keys/values are
// computed on the first step and reused by the others (`reuse_text` false: every step recomputes
// them, the baseline of `osp bench generate`). `text` (optional) receives that TextContext.
diffusion::VelocityFn dit_velocity(const dit::WanDiT& model, at::Tensor context, bool reuse_text = true,
                                   std::shared_ptr<dit::TextContext>* text = nullptr);

// Guided velocity (docs/sampling.md "Guidance and the negative prompt"): v_u + g·(v_c − v_u) with the prompt's and the negative
// prompt's contexts; g == 1 runs only the conditional forward.
diffusion::VelocityFn guided_dit_velocity(const dit::WanDiT& model, at::Tensor context, at::Tensor negative_context,
                                          double guidance, bool reuse_text = true,
                                          std::vector<std::shared_ptr<dit::TextContext>>* texts = nullptr);

// The same guided velocity with both branches as the two rows of one forward (docs/memory.md
// "Guidance in one forward"): a DiT whose blocks stream from disk then reads each block once per
// step instead of twice. Both contexts are zero-padded to the DiT's text_len (what the forward
// does to each alone), so the rows compute what the two forwards compute; the GEMMs see two rows
// instead of one, so the result equals the two-forward velocity to rounding, not bit for bit.
diffusion::VelocityFn batched_guided_dit_velocity(const dit::WanDiT& model, at::Tensor context,
                                                  at::Tensor negative_context, double guidance,
                                                  bool reuse_text = true,
                                                  std::vector<std::shared_ptr<dit::TextContext>>* texts = nullptr);

// The guided velocity of a DiT spread over the ranks of a launcher (parallel/distributed_dit.h):
// every rank calls it with the same x and gets the same v. Same text-context reuse as above.
diffusion::VelocityFn distributed_dit_velocity(parallel::DistributedDiT& model, at::Tensor context,
                                               at::Tensor negative_context, double guidance, bool reuse_text = true,
                                               std::vector<std::shared_ptr<dit::TextContext>>* texts = nullptr);

}  // namespace osp::pipeline
