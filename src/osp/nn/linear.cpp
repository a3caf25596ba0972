#include "osp/nn/linear.h"

#include <ATen/core/grad_mode.h>

namespace osp::nn {
namespace {

std::vector<int64_t> output_shape(const at::Tensor& x, int64_t out) {
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
  shape.back() = out;
  return shape;
}

// The dense weight the hooks start from: the parameter, or the 8-bit codes dequantized just in
// time (fake quantization on top of 8-bit weights).
at::Tensor dense_weight(const LinearWeights& layer, Precision precision) {
  return layer.quantized ? quant::dequantize(*layer.quantized, precision.compute()) : layer.weight;
}

// docs/quantization.md "HIF8Linear". Inference: FQ(x) and FQ(W) enter the ordinary GEMM of the precision policy
// (like the reference, whose matmul runs under autocast). Training: the autograd function.
at::Tensor fake_quant_linear(const GemmInput& x, const LinearWeights& layer, Precision precision) {
  const quant::FakeQuantSpec& spec = *layer.fake_quant;
  const at::Tensor weight = dense_weight(layer, precision);
  if (at::GradMode::is_enabled() && (x.values.requires_grad() || weight.requires_grad())) {
    return quant::hif8_linear(x.values, weight, layer.bias, spec);
  }
  const at::Tensor xq = quant::fake_quant(x.values, spec.scale_max_forward);
  const at::Tensor wq = quant::fake_quant(weight, spec.scale_max_forward);
  return linear(prepare_gemm_input(xq, precision, /*may_overwrite=*/true), wq, layer.bias, precision);
}

// 8-bit weights: the GEMM in the dtype of the prepared input (float32 holding bf16 values on the
// emulated CPU path, bf16 natively), the decoded weight rounded to bf16 in bf16 mode, the output
// rounded like gemm.h's linear.
at::Tensor quantized_linear(const GemmInput& x, const LinearWeights& layer, Precision precision) {
  const quant::QuantizedWeight& w = *layer.quantized;
  const at::Tensor& values = x.values;
  TORCH_CHECK(values.size(-1) == w.in_features(), "linear: input width ", values.size(-1), " != weight width ",
              w.in_features());
  at::Tensor bias = layer.bias;
  if (bias.defined()) bias = (precision.reduced() ? rounded_to_bf16(bias) : bias).to(values.scalar_type());
  at::Tensor y = quant::dequant_linear(values.reshape({-1, w.in_features()}), w, bias, precision.reduced());
  if (precision.reduced() && y.scalar_type() == at::kFloat) round_to_bf16_(y);
  return y.view(output_shape(values, w.out_features()));
}

at::Tensor base_linear(const GemmInput& x, const LinearWeights& layer, Precision precision) {
  if (layer.fake_quant) return fake_quant_linear(x, layer, precision);
  if (layer.quantized) return quantized_linear(x, layer, precision);
  return linear(x, layer.weight, layer.bias, precision);
}

}  // namespace

at::Tensor linear(const GemmInput& x, const LinearWeights& layer, Precision precision) {
  at::Tensor y = base_linear(x, layer, precision);
  return layer.adapters.empty() ? y : add_adapters(std::move(y), x, layer.adapters, precision);
}

at::Tensor linear(const at::Tensor& x, const LinearWeights& layer, Precision precision) {
  return linear(prepare_gemm_input(x, precision), layer, precision);
}

int64_t resident_weight_bytes(const torch::nn::Module& module) {
  int64_t bytes = 0;
  for (const auto& p : module.parameters(/*recurse=*/true)) bytes += static_cast<int64_t>(p.nbytes());
  for (const auto& b : module.buffers(/*recurse=*/true)) bytes += static_cast<int64_t>(b.nbytes());
  const auto add_quantized = [&bytes](const torch::nn::Module& m) {
    const auto* layer = dynamic_cast<const LinearWeights*>(&m);
    if (layer != nullptr && layer->quantized) bytes += layer->quantized->bytes();
  };
  add_quantized(module);  // modules(include_self) would need the module to be owned by a shared_ptr
  for (const auto& m : module.modules(/*include_self=*/false)) add_quantized(*m);
  return bytes;
}

}  // namespace osp::nn
