#include "osp/quant/fake_quant.h"

#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>

#include "osp/quant/hif8.h"

namespace osp::quant {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr float kAmaxFloor = 1e-8f;  // docs/quantization.md "Per-tensor fake quantization" step 1

// max|x| of a float32 tensor in one pass (no |x| temporary).
float abs_max(const at::Tensor& x) {
  const auto [lo, hi] = at::aminmax(x);
  return std::max(-lo.item<float>(), hi.item<float>());
}

// "Per-tensor fake quantization" for reduced dtypes, following the reference's dtype chain.
at::Tensor fake_quant_reduced(const at::Tensor& x, double scale_max) {
  const at::Tensor amax = at::clamp_min(x.abs().amax(), kAmaxFloor);                // x's dtype
  const at::Tensor scale = at::div(at::scalar_tensor(scale_max, x.options()), amax);  // x's dtype
  return at::div(hif8_round(at::mul(x, scale)), scale);  // Q in float32, cast back exactly
}

// Whether the function must record a graph for `inputs`.
bool needs_graph(std::initializer_list<at::Tensor> inputs) {
  if (!at::GradMode::is_enabled()) return false;
  return std::any_of(inputs.begin(), inputs.end(), [](const at::Tensor& t) { return t.defined() && t.requires_grad(); });
}

struct FakeQuantFunction : public torch::autograd::Function<FakeQuantFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, double forward_max, double backward_max) {
    ctx->saved_data["backward_max"] = backward_max;
    return fake_quant(x, forward_max);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return {fake_quant(grads[0], ctx->saved_data["backward_max"].toDouble()), at::Tensor(), at::Tensor()};
  }
};

at::Tensor linear_forward(const at::Tensor& xq, const at::Tensor& wq, const at::Tensor& bias) {
  at::Tensor y = at::matmul(xq, wq.t());
  return bias.defined() ? y.add_(bias) : y;
}

struct HiF8LinearFunction : public torch::autograd::Function<HiF8LinearFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                            double forward_max, double backward_max) {
    const at::Tensor xq = fake_quant(x, forward_max), wq = fake_quant(weight, forward_max);
    ctx->save_for_backward({xq, wq});
    ctx->saved_data["backward_max"] = backward_max;
    ctx->saved_data["has_bias"] = bias.defined();
    return linear_forward(xq, wq, bias);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    // docs/quantization.md "HIF8Linear", backward steps 1–4.
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& xq = saved[0];
    const at::Tensor& wq = saved[1];
    const at::Tensor gq = fake_quant(grads[0], ctx->saved_data["backward_max"].toDouble());
    const at::Tensor g2 = gq.reshape({-1, wq.size(0)});
    const at::Tensor x2 = xq.reshape({-1, wq.size(1)});
    const at::Tensor dx = at::matmul(gq, wq);
    const at::Tensor dw = g2.t().mm(x2);
    const at::Tensor db = ctx->saved_data["has_bias"].toBool() ? g2.sum(0) : at::Tensor();
    return {dx, dw, db, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor fake_quant(const at::Tensor& x, double scale_max) {
  if (x.numel() == 0) return x.clone();
  if (x.scalar_type() != at::kFloat) return fake_quant_reduced(x, scale_max);
  const float amax = std::max(abs_max(x), kAmaxFloor);
  const float scale = static_cast<float>(scale_max) / amax;  // float32, like smax / amax on a tensor
  return hif8_scaled_round(x, scale);
}

at::Tensor fake_quant_ste(const at::Tensor& x, const FakeQuantSpec& spec) {
  if (!needs_graph({x})) return fake_quant(x, spec.scale_max_forward);
  return FakeQuantFunction::apply(x, spec.scale_max_forward, spec.scale_max_backward);
}

at::Tensor hif8_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, const FakeQuantSpec& spec) {
  if (!needs_graph({x, weight, bias})) {
    return linear_forward(fake_quant(x, spec.scale_max_forward), fake_quant(weight, spec.scale_max_forward), bias);
  }
  return HiF8LinearFunction::apply(x, weight, bias, spec.scale_max_forward, spec.scale_max_backward);
}

}  // namespace osp::quant
