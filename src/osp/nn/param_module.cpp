#include "osp/nn/param_module.h"

#include "osp/core/error.h"

namespace osp::nn {

at::Tensor ParamModule::add_param(const std::string& name, at::IntArrayRef shape, const at::TensorOptions& options) {
  return register_parameter(name, at::empty(shape, options), /*requires_grad=*/false);
}

LinearWeights::LinearWeights(int64_t in, int64_t out, const at::TensorOptions& options)
    : weight(add_param("weight", {out, in}, options)), bias(add_param("bias", {out}, options)), in_(in), out_(out) {}

void LinearWeights::set_quantized(quant::QuantizedWeight q) {
  if (weight.dim() == 2 && q.codes.sizes() != weight.sizes()) {
    fail("8-bit weight [{}, {}] does not match the layer's [{}, {}]", q.out_features(), q.in_features(),
         weight.size(0), weight.size(1));
  }
  q.codes = q.codes.to(weight.device());
  q.scale = q.scale.to(weight.device(), at::kFloat);
  quantized = std::make_shared<const quant::QuantizedWeight>(std::move(q));
  weight.set_();  // the registered parameter shares this TensorImpl: its storage is released
}

NormWeights::NormWeights(int64_t dim, bool with_bias, const at::TensorOptions& options)
    : weight(add_param("weight", {dim}, options)) {
  if (with_bias) bias = add_param("bias", {dim}, options);
}

TwoLinears::TwoLinears(int64_t in, int64_t hidden, int64_t out, const at::TensorOptions& options)
    : first(register_module("0", std::make_shared<LinearWeights>(in, hidden, options))),
      second(register_module("2", std::make_shared<LinearWeights>(hidden, out, options))) {}

}  // namespace osp::nn
