#include "osp/io/convert.h"

#include <filesystem>

#include "osp/core/error.h"
#include "osp/io/key_names.h"
#include "osp/io/safetensors_writer.h"
#include "osp/io/torch_dtype.h"

namespace osp::io {

namespace {

std::optional<DType> parse_target_dtype(const std::string& text) {
  if (text.empty()) return std::nullopt;
  if (text == "bf16" || text == "bfloat16") return DType::kBF16;
  if (text == "f16" || text == "fp16" || text == "float16") return DType::kF16;
  if (text == "f32" || text == "fp32" || text == "float32") return DType::kF32;
  fail_about("--dtype", "unknown dtype '{}' (expected bf16, f16 or f32)", text);
}

bool is_floating(DType dtype) {
  switch (dtype) {
    case DType::kF64: case DType::kF32: case DType::kF16: case DType::kBF16:
    case DType::kF8E4M3: case DType::kF8E5M2:
      return true;
    default:
      return false;
  }
}

// The dtype a tensor is written in: the target for floating-point tensors, else its own; float8
// becomes float32 where LibTorch cannot hold float8 (the source decodes it).
DType output_dtype(DType stored, const std::optional<DType>& target) {
  if (target && is_floating(stored)) return *target;
  if (!scalar_type_of(stored)) return DType::kF32;
  return stored;
}

// Output names: canonical Wan DiT names when the input is recognisably a Wan DiT.
std::vector<std::string> output_names(const TensorSource& source, bool keep_names, std::string& layout) {
  const auto& names = source.names();
  if (keep_names) return names;
  KeyMapping mapping = map_dit_keys(names);
  bool is_dit = mapping.canonical_to_source.count("head.modulation") && mapping.canonical_to_source.count("patch_embedding.weight");
  if (!is_dit) return names;
  if (!mapping.duplicates.empty())
    fail_about(source.path(), "tensor '{}' maps onto a canonical name already taken (pass --keep-names)",
               mapping.duplicates.front());
  layout = mapping.layout;
  std::vector<std::string> out;
  out.reserve(names.size());
  for (const auto& name : names) out.push_back(canonical_dit_key(name));
  return out;
}

}  // namespace

ConvertPlan plan_conversion(const std::string& in, const std::string& out, const std::string& dtype, bool keep_names) {
  parse_target_dtype(dtype);  // a bad --dtype fails before the input is opened
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(out, ec) && fs::equivalent(in, out, ec)) fail_about(out, "output would overwrite the input");
  return plan_conversion(open_tensor_source(in), out, dtype, keep_names);
}

ConvertPlan plan_conversion(std::shared_ptr<TensorSource> source, const std::string& out, const std::string& dtype,
                            bool keep_names) {
  std::optional<DType> target = parse_target_dtype(dtype);
  ConvertPlan plan;
  plan.source = std::move(source);
  plan.out_path = out;
  std::string layout;
  std::vector<std::string> names = output_names(*plan.source, keep_names, layout);
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& source_name = plan.source->names()[i];
    const TensorMeta& meta = plan.source->meta(source_name);
    plan.tensors.push_back({source_name, TensorDecl{names[i], output_dtype(meta.dtype, target), meta.shape}});
  }
  plan.description = plan.source->format();
  if (!layout.empty()) plan.description += ", " + layout + " names -> wan";
  if (target) plan.description += std::string(", floating-point to ") + dtype_name(*target);
  return plan;
}

void run_conversion(const ConvertPlan& plan, const std::function<void()>& on_tensor, const TensorTransform& transform) {
  std::vector<TensorDecl> decls;
  decls.reserve(plan.tensors.size());
  for (const auto& item : plan.tensors) decls.push_back(item.output);
  SafetensorsWriter writer(plan.out_path, decls, plan.metadata);
  for (const auto& item : plan.tensors) {
    auto type = scalar_type_of(item.output.dtype);
    at::Tensor tensor = plan.source->load(item.source_name, type);
    if (transform) tensor = transform(item.output.name, std::move(tensor));
    writer.append(item.output.name, tensor);
    on_tensor();
  }
  writer.finish();
}

}  // namespace osp::io
