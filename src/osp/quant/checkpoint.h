#pragma once
// 8-bit weight checkpoints (`osp quantize`, docs/quantization.md): which weights are quantized
// (the OSP-Next layer set, docs/quantization.md "Quantized layer set"), writing a quantized safetensors file, and finding
// the 8-bit weights of a file when loading it.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "osp/io/key_names.h"
#include "osp/io/tensor_source.h"
#include "osp/quant/weight8.h"

namespace osp::quant {

// Whether the linear module `name` (canonical, e.g. "blocks.3.self_attn.q", "blocks.3.ffn.2")
// belongs to the OSP-Next quantized layer set: self- and cross-attention q, k, v, o and both FFN
// linears. Embeddings, time projection, head and modulation are excluded ("Quantized layer set").
bool in_quantized_layer_set(const std::string& linear_name);

// One 8-bit weight of a file: codes `<name>` (U8 for HiF8, F8_E4M3 for FP8) and `<name>.scale`.
struct QuantizedEntry {
  WeightFormat format;
  std::string codes_name;  // names in the file
  std::string scale_name;
};

struct QuantizedTensors {
  std::map<std::string, QuantizedEntry> weights;  // by canonical weight name
  std::vector<std::string> scale_names;           // names in the file of all the scales

  bool empty() const { return weights.empty(); }
  const QuantizedEntry* find(const std::string& canonical) const;
  // "hif8 (240 linears)", "fp8-e4m3 (…)", "dense" — for `osp info` and logs.
  std::string describe() const;
};

// Finds every `<name>` with a `<name>.scale` beside it whose codes are U8 or F8_E4M3.
QuantizedTensors find_quantized_weights(const io::TensorSource& source, const io::KeyMapping& mapping);

// Reads one 8-bit weight (codes kept as uint8, scale as float32) and checks it (osp::Error naming
// the tensor).
QuantizedWeight load_quantized_weight(const io::TensorSource& source, const QuantizedEntry& entry);

struct QuantizeOptions {
  WeightFormat format = WeightFormat::kHiF8;
  double target = 0.0;  // ≤ 0: the format's default (15 HiF8, 448 FP8)
};

struct QuantizeSummary {
  int64_t quantized = 0;  // weights written as codes + scales
  int64_t copied = 0;     // tensors copied unchanged
  int64_t bytes_in = 0;   // tensor bytes of the input and the output
  int64_t bytes_out = 0;
  double mean_error = 0;  // ‖W − Ŵ‖ / ‖W‖ over the quantized weights: mean and max
  double max_error = 0;
  std::string description;  // input format and layout
};

// Writes `out` (safetensors, atomically) from the checkpoint `in` (any layout the io layer reads;
// canonical Wan names out): the layer-set weights as 8-bit codes + per-channel scales, every other
// tensor copied with its dtype. Calls on_tensor(done, total) after each tensor. Throws osp::Error
// for an input that is no Wan DiT, already quantized, or would be overwritten.
QuantizeSummary quantize_checkpoint(const std::string& in, const std::string& out, const QuantizeOptions& options,
                                    const std::function<void(int64_t, int64_t)>& on_tensor = {});

}  // namespace osp::quant
