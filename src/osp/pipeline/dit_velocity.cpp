#include "osp/pipeline/dit_velocity.h"

#include <c10/core/InferenceMode.h>

#include "osp/core/error.h"
#include "osp/core/shape.h"
#include "osp/diffusion/guidance.h"

namespace osp::pipeline {

diffusion::VelocityFn dit_velocity(const dit::WanDiT& model, at::Tensor context) {
  if (!context.defined() || context.dim() != 3 || context.size(0) != 1) {
    fail_about("context", "expected text embeddings [1, L, text_dim] for one video, got {}",
               context.defined() ? shape_string(context.sizes()) : "none");
  }
  at::Tensor on_device = context.to(model.device());
  return [&model, context = std::move(on_device)](const at::Tensor& x, const diffusion::StepInfo& step) {
    c10::InferenceMode inference;  // the DiT's in-place kernels record no autograd graph
    const at::Tensor t =
        at::full({1}, step.timestep, at::TensorOptions().dtype(at::kDouble).device(model.device()));
    const at::Tensor batch = x.to(model.device(), at::kFloat).unsqueeze(0);
    return model.forward(batch, t, context).squeeze(0).to(x.device());
  };
}

diffusion::VelocityFn guided_dit_velocity(const dit::WanDiT& model, at::Tensor context, at::Tensor negative_context,
                                          double guidance) {
  diffusion::VelocityFn conditional = dit_velocity(model, std::move(context));
  if (guidance == 1.0) return conditional;  // the negative context is never used
  return diffusion::classifier_free_guidance(std::move(conditional), dit_velocity(model, std::move(negative_context)),
                                             guidance);
}

}  // namespace osp::pipeline
