#include "osp/pipeline/dit_velocity.h"

#include <c10/core/InferenceMode.h>

#include "osp/core/error.h"
#include "osp/core/shape.h"
#include "osp/diffusion/guidance.h"

namespace osp::pipeline {

namespace {

// The context of one video on `device`, in a TextContext that the velocity keeps.
std::shared_ptr<dit::TextContext> text_context(const at::Tensor& context, c10::Device device, bool reuse_text) {
  if (!context.defined() || context.dim() != 3 || context.size(0) != 1) {
    fail_about("context", "expected text embeddings [1, L, text_dim] for one video, got {}",
               context.defined() ? shape_string(context.sizes()) : "none");
  }
  return std::make_shared<dit::TextContext>(context.to(device), reuse_text);
}

// The model's inputs for the loop's latent x [C, F, H, W] at `step`: x[None] as float32 and [t_i].
std::pair<at::Tensor, at::Tensor> model_inputs(const at::Tensor& x, const diffusion::StepInfo& step,
                                               c10::Device device) {
  return {x.to(device, at::kFloat).unsqueeze(0),
          at::full({1}, step.timestep, at::TensorOptions().dtype(at::kDouble).device(device))};
}

// [1, Lc, D] → [1, text_len, D] with zero rows, as WanDiT::forward pads a shorter context.
at::Tensor padded_context(const at::Tensor& context, int64_t text_len) {
  const int64_t missing = text_len - context.size(1);
  return missing > 0 ? at::constant_pad_nd(context, {0, 0, 0, missing}, 0) : context;
}

}  // namespace

diffusion::VelocityFn dit_velocity(const dit::WanDiT& model, at::Tensor context, bool reuse_text,
                                   std::shared_ptr<dit::TextContext>* text) {
  auto shared = text_context(context, model.device(), reuse_text);
  if (text != nullptr) *text = shared;
  return [&model, shared](const at::Tensor& x, const diffusion::StepInfo& step) {
    c10::InferenceMode inference;  // the DiT's in-place kernels record no autograd graph
    const auto [batch, t] = model_inputs(x, step, model.device());
    return model.forward(batch, t, *shared).squeeze(0).to(x.device());
  };
}

diffusion::VelocityFn guided_dit_velocity(const dit::WanDiT& model, at::Tensor context, at::Tensor negative_context,
                                          double guidance, bool reuse_text,
                                          std::vector<std::shared_ptr<dit::TextContext>>* texts) {
  std::shared_ptr<dit::TextContext> text;
  diffusion::VelocityFn conditional = dit_velocity(model, std::move(context), reuse_text, &text);
  if (texts != nullptr) texts->push_back(text);
  if (guidance == 1.0) return conditional;  // the negative context is never used
  diffusion::VelocityFn unconditional = dit_velocity(model, std::move(negative_context), reuse_text, &text);
  if (texts != nullptr) texts->push_back(text);
  return diffusion::classifier_free_guidance(std::move(conditional), std::move(unconditional), guidance);
}

diffusion::VelocityFn batched_guided_dit_velocity(const dit::WanDiT& model, at::Tensor context,
                                                  at::Tensor negative_context, double guidance, bool reuse_text,
                                                  std::vector<std::shared_ptr<dit::TextContext>>* texts) {
  if (guidance == 1.0) return guided_dit_velocity(model, std::move(context), at::Tensor(), guidance, reuse_text, texts);
  text_context(context, model.device(), reuse_text);  // the same checks as one branch alone
  text_context(negative_context, model.device(), reuse_text);
  const int64_t text_len = model.config().text_len;
  const at::Tensor both = at::cat({padded_context(context, text_len), padded_context(negative_context, text_len)});
  auto shared = std::make_shared<dit::TextContext>(both.to(model.device()), reuse_text);
  if (texts != nullptr) texts->push_back(shared);
  return [&model, shared, guidance](const at::Tensor& x, const diffusion::StepInfo& step) {
    c10::InferenceMode inference;
    const auto [one, t] = model_inputs(x, step, model.device());
    const at::Tensor v = model.forward(one.expand({2, -1, -1, -1, -1}).contiguous(), t.expand({2}).contiguous(), *shared);
    return diffusion::guide(v[0], v[1], guidance).to(x.device());
  };
}

diffusion::VelocityFn distributed_dit_velocity(parallel::DistributedDiT& model, at::Tensor context,
                                               at::Tensor negative_context, double guidance, bool reuse_text,
                                               std::vector<std::shared_ptr<dit::TextContext>>* texts) {
  const c10::Device device = model.device();
  auto conditional = text_context(context, device, reuse_text);
  auto unconditional = guidance == 1.0 ? nullptr : text_context(negative_context, device, reuse_text);
  if (texts != nullptr) {
    texts->push_back(conditional);
    if (unconditional) texts->push_back(unconditional);
  }
  return [&model, conditional, unconditional, guidance](const at::Tensor& x, const diffusion::StepInfo& step) {
    c10::InferenceMode inference;
    const auto [batch, t] = model_inputs(x, step, model.device());
    const at::Tensor v = unconditional ? model.guided_forward(batch, t, *conditional, *unconditional, guidance)
                                       : model.forward(batch, t, *conditional);
    return v.squeeze(0).to(x.device());
  };
}

}  // namespace osp::pipeline
