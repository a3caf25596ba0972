#include "osp/models/dit/quantization.h"

#include <torch/csrc/autograd/grad_mode.h>

#include "osp/core/error.h"
#include "osp/models/dit/model.h"
#include "osp/nn/linear.h"
#include "osp/quant/checkpoint.h"
#include "osp/quant/fake_quant.h"

namespace osp::dit {
namespace {

quant::FakeQuantSpec spec_of(const DiTConfig& config) {
  return {config.scale_max_forward, config.scale_max_backward};
}

}  // namespace

std::function<void(DiTConfig&)> quant_flag_override(const std::string& value) {
  if (value.empty()) return {};
  if (value != "hif8" && value != "none") fail_about("--quant", "unknown value '{}' (expected hif8 or none)", value);
  const std::string mode = value == "hif8" ? "hif8" : "";
  return [mode](DiTConfig& config) { config.quant = config.quant_attn = mode; };
}

int64_t apply_quant_config(WanDiT& model) {
  if (model.config().quant != "hif8") return 0;
  return nn::enable_fake_quant(model, spec_of(model.config()), quant::in_quantized_layer_set);
}

void fake_quant_attention_input(at::Tensor& x, const DiTConfig& config) {
  if (config.quant_attn == "hif8") x = quant::fake_quant_ste(x, spec_of(config));
}

void fake_quant_attention_inputs(at::Tensor& q, at::Tensor& k, at::Tensor& v, const DiTConfig& config) {
  fake_quant_attention_input(q, config);
  fake_quant_attention_input(k, config);
  fake_quant_attention_input(v, config);
}

int64_t quantize_weights_in_memory(WanDiT& model, quant::WeightFormat format, double target) {
  torch::NoGradGuard no_grad;
  int64_t count = 0;
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    auto* layer = dynamic_cast<nn::LinearWeights*>(item.value().get());
    if (layer == nullptr || layer->quantized || !quant::in_quantized_layer_set(item.key())) continue;
    layer->set_quantized(quant::quantize_weight(layer->weight, format, target));
    ++count;
  }
  return count;
}

}  // namespace osp::dit
