#pragma once
// HiF8 / 8-bit weights in the Wan DiT (docs/quantization.md "Quantized layer set"): the config's fake quantization on the
// OSP-Next layer set and on the attention inputs, and 8-bit weights quantized in memory.
#include <ATen/ATen.h>

#include <functional>
#include <string>

#include "osp/models/dit/config.h"
#include "osp/quant/weight8.h"

namespace osp::dit {

class WanDiT;

// The config edit of a `--quant` flag (dit-forward, generate): "hif8" turns quant and quant_attn
// on (docs/quantization.md "HiF8 configuration fields"), "none" off, "" leaves the config as it is (empty function). Throws
// osp::Error naming --quant otherwise.
std::function<void(DiTConfig&)> quant_flag_override(const std::string& value);

// Turns HIF8Linear on for the layer set ("Quantized layer set") when config.quant is "hif8"; returns the number of
// layers (0 when off). The WanDiT constructor calls it.
int64_t apply_quant_config(WanDiT& model);

// "Q/K/V fake quantization": with config.quant_attn = "hif8", q, k, v become FQ(·, scale_max_forward) over each whole
// local tensor (backward: FQ(·, scale_max_backward)); otherwise they are left alone.
void fake_quant_attention_inputs(at::Tensor& q, at::Tensor& k, at::Tensor& v, const DiTConfig& config);
// The same for one of them (each tensor has its own scale, so the cached cross-attention k and v
// are quantized once, when computed).
void fake_quant_attention_input(at::Tensor& x, const DiTConfig& config);

// Replaces the layer-set weights of `model` by 8-bit codes + per-channel scales (weight8.h
// convention), freeing the dense weights; what `osp quantize` then loading the file gives. Returns
// the number of layers quantized.
int64_t quantize_weights_in_memory(WanDiT& model, quant::WeightFormat format, double target = 0.0);

}  // namespace osp::dit
