#include "osp/quant/checkpoint.h"

#include <fmt/format.h>

#include <cmath>
#include <algorithm>
#include <regex>

#include "osp/core/error.h"
#include "osp/io/convert.h"
#include "osp/io/safetensors_writer.h"
#include "osp/io/torch_dtype.h"
#include "osp/quant/fp8.h"

namespace osp::quant {
namespace {

const std::string kScaleSuffix = ".scale";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The format a codes tensor of `dtype` holds, if any.
std::optional<WeightFormat> format_of_codes(io::DType dtype) {
  if (dtype == io::DType::kU8) return WeightFormat::kHiF8;
  if (dtype == io::DType::kF8E4M3) return WeightFormat::kFp8E4M3;
  return std::nullopt;
}

// Codes as uint8 whatever LibTorch made of them: U8 as is; float8 types viewed as bytes; float8
// decoded to float32 (LibTorch < 2.1) encoded again, which is exact for every E4M3 value.
at::Tensor load_codes(const io::TensorSource& source, const QuantizedEntry& entry) {
  const at::Tensor t = source.load(entry.codes_name);
  if (t.scalar_type() == at::kByte) return t;
  if (t.element_size() == 1) return t.view(at::kByte);
  return fp8_e4m3_encode(t);
}

bool is_quantizable(const io::TensorDecl& decl) {
  if (!ends_with(decl.name, ".weight") || decl.shape.size() != 2) return false;
  return in_quantized_layer_set(decl.name.substr(0, decl.name.size() - 7));
}

double relative_error(const at::Tensor& w, const QuantizedWeight& q) {
  const at::Tensor reference = w.to(at::kDouble);
  const double norm = reference.norm().item<double>();
  if (norm == 0) return 0;
  return (dequantize(q, at::kDouble) - reference).norm().item<double>() / norm;
}

}  // namespace

bool in_quantized_layer_set(const std::string& linear_name) {
  static const std::regex layer_set(R"(blocks\.\d+\.((self_attn|cross_attn)\.[qkvo]|ffn\.[02]))");
  return std::regex_match(linear_name, layer_set);
}

const QuantizedEntry* QuantizedTensors::find(const std::string& canonical) const {
  const auto it = weights.find(canonical);
  return it == weights.end() ? nullptr : &it->second;
}

std::string QuantizedTensors::describe() const {
  if (weights.empty()) return "dense";
  std::map<std::string, int64_t> counts;
  for (const auto& item : weights) counts[format_name(item.second.format)] += 1;
  std::string text;
  for (const auto& [format, count] : counts) {
    text += fmt::format("{}{} 8-bit ({} linears, per-output-channel float32 scales)", text.empty() ? "" : ", ", format,
                        count);
  }
  return text;
}

QuantizedTensors find_quantized_weights(const io::TensorSource& source, const io::KeyMapping& mapping) {
  QuantizedTensors found;
  for (const auto& [canonical, scale_name] : mapping.canonical_to_source) {
    if (!ends_with(canonical, kScaleSuffix)) continue;
    const auto base = mapping.canonical_to_source.find(canonical.substr(0, canonical.size() - kScaleSuffix.size()));
    if (base == mapping.canonical_to_source.end()) continue;
    const std::optional<WeightFormat> format = format_of_codes(source.meta(base->second).dtype);
    if (!format) continue;
    found.weights[base->first] = {*format, base->second, scale_name};
    found.scale_names.push_back(scale_name);
  }
  return found;
}

QuantizedWeight load_quantized_weight(const io::TensorSource& source, const QuantizedEntry& entry) {
  QuantizedWeight q;
  q.format = entry.format;
  q.codes = load_codes(source, entry);
  q.scale = source.load(entry.scale_name, at::kFloat);
  validate(q, source.path() + ": " + entry.codes_name);
  return q;
}

QuantizeSummary quantize_checkpoint(const std::string& in, const std::string& out, const QuantizeOptions& options,
                                    const std::function<void(int64_t, int64_t)>& on_tensor) {
  resolve_target(options.format, options.target);  // bad --target fails before any work
  const io::ConvertPlan plan = io::plan_conversion(in, out, "", /*keep_names=*/false);
  const io::TensorSource& source = *plan.source;
  if (!find_quantized_weights(source, io::map_dit_keys(source.names())).empty()) {
    fail_about(in, "already holds 8-bit weights");
  }
  std::vector<io::TensorDecl> decls;
  std::vector<bool> quantize;
  for (const auto& item : plan.tensors) {
    const bool q = is_quantizable(item.output);
    quantize.push_back(q);
    if (!q) {
      decls.push_back(item.output);
      continue;
    }
    decls.push_back({item.output.name, storage_dtype(options.format), item.output.shape});
    decls.push_back({item.output.name + kScaleSuffix, io::DType::kF32, {item.output.shape[0]}});
  }
  QuantizeSummary summary;
  summary.description = plan.description;
  summary.quantized = std::count(quantize.begin(), quantize.end(), true);
  if (summary.quantized == 0) {
    fail_about(in, "no linear weight of the OSP-Next layer set (blocks.N.self_attn/cross_attn q,k,v,o, ffn.0, ffn.2)");
  }
  const double target = resolve_target(options.format, options.target);
  io::SafetensorsWriter writer(out, decls,
                               {{"format", "pt"},
                                {"osp.weight_format", format_name(options.format)},
                                {"osp.weight_target", fmt::format("{}", target)},
                                {"osp.weight_convention", "weight = decode(code) * scale (per output channel)"}});
  const int64_t total = static_cast<int64_t>(plan.tensors.size());
  for (int64_t i = 0; i < total; ++i) {
    const auto& item = plan.tensors[i];
    summary.bytes_in += static_cast<int64_t>(
        io::tensor_byte_size(source.meta(item.source_name).shape, source.meta(item.source_name).dtype, item.source_name));
    if (quantize[i]) {
      const at::Tensor w = source.load(item.source_name, at::kFloat);
      const QuantizedWeight q = quantize_weight(w, options.format, target);
      const double error = relative_error(w, q);
      summary.mean_error += error / static_cast<double>(summary.quantized);
      summary.max_error = std::max(summary.max_error, error);
      writer.append_bytes(item.output.name, q.codes.data_ptr<uint8_t>(), static_cast<size_t>(q.codes.numel()));
      writer.append(item.output.name + kScaleSuffix, q.scale);
      summary.bytes_out += q.bytes();
    } else {
      const at::Tensor t = source.load(item.source_name, io::scalar_type_of(item.output.dtype));
      writer.append(item.output.name, t);
      summary.bytes_out += static_cast<int64_t>(io::tensor_byte_size(item.output.shape, item.output.dtype, item.output.name));
      ++summary.copied;
    }
    if (on_tensor) on_tensor(i + 1, total);
  }
  writer.finish();
  return summary;
}

}  // namespace osp::quant
