// Adapter files: every trainer's spelling read into LoraFile, and written back as PEFT safetensors
// (docs/lora.md "Formats").
#include "osp/io/lora_file.h"

#include <cmath>
#include <filesystem>
#include <map>

#include "osp/core/error.h"
#include "osp/core/shape.h"
#include "osp/io/adapter_config.h"
#include "osp/io/atomic_file.h"
#include "osp/io/lora_keys.h"
#include "osp/io/safetensors_writer.h"
#include "osp/io/tensor_source.h"

namespace osp::io {
namespace {

namespace fs = std::filesystem;

constexpr char kPeftPrefix[] = "base_model.model.";
constexpr char kConfigName[] = "adapter_config.json";

// ---- where the tensors and the config are ----

struct AdapterPaths {
  std::string weights;
  std::string config;  // where an adapter_config.json would be (it may not exist)
};

// A PEFT directory holds adapter_model.safetensors or adapter_model.bin; any other directory is
// left to open_tensor_source (e.g. diffusers' pytorch_lora_weights.safetensors alone).
AdapterPaths locate(const std::string& path) {
  if (!fs::is_directory(path)) return {path, (fs::path(path).parent_path() / kConfigName).string()};
  AdapterPaths out{path, (fs::path(path) / kConfigName).string()};
  for (const char* name : {"adapter_model.safetensors", "adapter_model.bin"}) {
    if (fs::is_regular_file(fs::path(path) / name)) {
      out.weights = (fs::path(path) / name).string();
      break;
    }
  }
  return out;
}

// ---- names → modules ----

using ModuleKeys = std::map<LoraRole, std::string>;  // role -> tensor name in the file

struct KeyTable {
  std::map<std::string, ModuleKeys> modules;  // canonical module -> its tensors
  std::string format;
};

KeyTable map_keys(const TensorSource& source) {
  KeyTable table;
  std::vector<std::string> formats;
  for (const std::string& name : source.names()) {
    const std::optional<LoraKey> key = parse_lora_key(name);
    if (!key) {
      fail_about(source.path(), "tensor '{}' is not an adapter entry for a Wan DiT linear (see docs/lora.md, \"Formats\")",
                 name);
    }
    const auto [it, inserted] = table.modules[key->module].emplace(key->role, name);
    if (!inserted) {
      fail_about(source.path(), "tensors '{}' and '{}' are both the {} of {}", it->second, name, lora_role_name(key->role),
                 key->module);
    }
    formats.push_back(key->format);
  }
  if (table.modules.empty()) fail_about(source.path(), "holds no tensors");
  table.format = combine_lora_formats(formats);
  return table;
}

// ---- tensors ----

bool is_floating(DType dtype) {
  switch (dtype) {
    case DType::kF64: case DType::kF32: case DType::kF16: case DType::kBF16: case DType::kF8E4M3: case DType::kF8E5M2:
      return true;
    default:
      return false;
  }
}

// A factor or delta as float32; integer tensors and non-finite values are refused.
at::Tensor load_weight(const TensorSource& source, const std::string& name) {
  const TensorMeta& meta = source.meta(name);
  if (!is_floating(meta.dtype)) {
    fail_about(source.path(), "tensor '{}' has dtype {}; adapter weights are floating point", name, dtype_name(meta.dtype));
  }
  at::Tensor t = source.load(name, at::kFloat);
  if (!at::isfinite(t).all().item<bool>()) fail_about(source.path(), "tensor '{}' holds non-finite values", name);
  return t;
}

// An alpha is one number, stored 0-d or [1] by the trainers.
double load_alpha(const TensorSource& source, const std::string& name) {
  const TensorMeta& meta = source.meta(name);
  if (meta.numel() != 1 || meta.dtype == DType::kBool) {
    fail_about(source.path(), "alpha '{}' must hold one number, got {} {}", name, dtype_name(meta.dtype),
               shape_string(meta.shape));
  }
  return source.load(name).to(at::kDouble).item<double>();
}

const std::string* key_of(const ModuleKeys& keys, LoraRole role) {
  const auto it = keys.find(role);
  return it == keys.end() ? nullptr : &it->second;
}

LoraModule load_module(const TensorSource& source, const std::string& module, const ModuleKeys& keys) {
  LoraModule m;
  m.module = module;
  m.source_key = keys.begin()->second;  // roles sort lora_A first: the key errors name
  if (const std::string* k = key_of(keys, LoraRole::kDown)) m.down = load_weight(source, *k);
  if (const std::string* k = key_of(keys, LoraRole::kUp)) m.up = load_weight(source, *k);
  if (const std::string* k = key_of(keys, LoraRole::kDiff)) m.diff = load_weight(source, *k);
  if (const std::string* k = key_of(keys, LoraRole::kDiffBias)) m.diff_b = load_weight(source, *k);
  if (const std::string* k = key_of(keys, LoraRole::kAlpha)) m.alpha = load_alpha(source, *k);
  return m;
}

// ---- consistency of one module (shapes against a model are the caller's check) ----

[[noreturn]] void reject(const std::string& file, const LoraModule& m, const std::string& why) {
  if (m.source_key.empty()) fail_about(file, "{}: {}", m.module, why);
  fail_about(file, "'{}' ({}): {}", m.source_key, m.module, why);
}

void check_factors(const std::string& file, const LoraModule& m) {
  if (m.down.defined() != m.up.defined()) {
    reject(file, m, m.down.defined() ? "lora_A (down) without lora_B (up)" : "lora_B (up) without lora_A (down)");
  }
  if (!m.down.defined()) {
    if (m.alpha) reject(file, m, "an alpha without lora_A / lora_B");
    return;
  }
  if (m.down.dim() != 2) reject(file, m, "lora_A must be 2-D [r, in], got " + shape_string(m.down.sizes()));
  if (m.up.dim() != 2) reject(file, m, "lora_B must be 2-D [out, r], got " + shape_string(m.up.sizes()));
  if (m.down.size(0) != m.up.size(1)) {
    reject(file, m, fmt::format("rank mismatch: lora_A [r, in] is {} but lora_B [out, r] is {}", shape_string(m.down.sizes()),
                                shape_string(m.up.sizes())));
  }
  if (m.down.numel() == 0 || m.up.numel() == 0) {
    reject(file, m, fmt::format("rank 0 or empty factors: lora_A {}, lora_B {}", shape_string(m.down.sizes()),
                                shape_string(m.up.sizes())));
  }
  if (m.alpha && !std::isfinite(*m.alpha)) reject(file, m, fmt::format("alpha {} is not finite", *m.alpha));
}

void check_deltas(const std::string& file, const LoraModule& m) {
  std::optional<int64_t> out = m.up.defined() ? std::optional<int64_t>(m.up.size(0)) : std::nullopt;
  if (m.diff.defined()) {
    if (m.diff.dim() != 2) reject(file, m, "diff must be 2-D [out, in], got " + shape_string(m.diff.sizes()));
    if (m.down.defined() && (m.diff.size(0) != m.up.size(0) || m.diff.size(1) != m.down.size(1))) {
      reject(file, m, fmt::format("diff {} does not match the factors' [out, in] = [{}, {}]", shape_string(m.diff.sizes()),
                                  m.up.size(0), m.down.size(1)));
    }
    out = m.diff.size(0);
  }
  if (m.diff_b.defined()) {
    if (m.diff_b.dim() != 1) reject(file, m, "diff_b must be 1-D [out], got " + shape_string(m.diff_b.sizes()));
    if (out && m.diff_b.size(0) != *out) {
      reject(file, m, fmt::format("diff_b {} does not match out = {}", shape_string(m.diff_b.sizes()), *out));
    }
  }
}

void check_module(const std::string& file, const LoraModule& m) {
  if (!m.down.defined() && !m.up.defined() && !m.diff.defined() && !m.diff_b.defined()) {
    reject(file, m, "no lora_A / lora_B, diff or diff_b");
  }
  check_factors(file, m);
  check_deltas(file, m);
}

// ---- the whole file ----

std::optional<AdapterConfig> config_for(const std::string& format, const std::string& config_path, nlohmann::json* json) {
  // Only PEFT-named weights belong to an adapter_config.json; a kohya or ComfyUI file in a folder
  // that happens to hold one keeps its own alphas.
  if (format != "peft" || !fs::is_regular_file(config_path)) return std::nullopt;
  *json = read_adapter_config_json(config_path);
  return parse_adapter_config(*json, config_path);
}

// The alpha a module reads back with when the file stores none for it.
std::optional<double> implied_alpha(const std::optional<AdapterConfig>& config, const std::string& module) {
  return config ? config->alpha_for(module) : std::nullopt;
}

void require_safetensors_name(const std::string& path) {
  constexpr std::string_view kExtension = ".safetensors";
  if (path.size() < kExtension.size() || path.compare(path.size() - kExtension.size(), kExtension.size(), kExtension) != 0) {
    fail_about(path, "adapter files are written as safetensors: the name must end in .safetensors");
  }
}

}  // namespace

double LoraModule::scale() const { return alpha && rank() > 0 ? *alpha / static_cast<double>(rank()) : 1.0; }

LoraFile read_lora_file(const std::string& path) {
  const AdapterPaths paths = locate(path);
  const auto source = open_tensor_source(paths.weights);
  const KeyTable table = map_keys(*source);

  LoraFile file;
  file.path = path;
  file.format = table.format;
  const std::optional<AdapterConfig> config = config_for(file.format, paths.config, &file.adapter_config);
  for (const auto& [module, keys] : table.modules) {
    LoraModule m = load_module(*source, module, keys);
    if (!m.alpha && m.down.defined()) m.alpha = implied_alpha(config, module);
    check_module(source->path(), m);
    file.modules.push_back(std::move(m));
  }
  return file;
}

std::optional<std::string> detect_lora_format(const std::vector<std::string>& names) {
  std::vector<std::string> formats;
  bool adapter = false;  // an alpha alone is no evidence: other models have parameters named alpha
  for (const std::string& name : names) {
    const std::optional<LoraKey> key = parse_lora_key(name);
    if (!key) continue;
    formats.push_back(key->format);
    adapter = adapter || key->role != LoraRole::kAlpha;
  }
  return adapter ? std::optional<std::string>(combine_lora_formats(formats)) : std::nullopt;
}

void write_lora_file(const std::string& path, const LoraFile& file) {
  require_safetensors_name(path);
  std::optional<AdapterConfig> config;
  if (!file.adapter_config.is_null()) config = parse_adapter_config(file.adapter_config, "adapter_config");

  std::vector<std::pair<std::string, at::Tensor>> tensors;
  std::map<std::string, const LoraModule*> seen;
  for (const LoraModule& m : file.modules) {
    if (!is_wan_linear(m.module)) fail_about(path, "module '{}' is not a Wan DiT linear", m.module);
    if (!seen.emplace(m.module, &m).second) fail_about(path, "module '{}' appears twice", m.module);
    check_module(path, m);
    const std::string name = kPeftPrefix + m.module;
    if (m.down.defined()) {
      tensors.emplace_back(name + ".lora_A.weight", m.down.to(at::kFloat));
      tensors.emplace_back(name + ".lora_B.weight", m.up.to(at::kFloat));
      // Stored only where the config does not already give it; an unset alpha next to a config
      // alpha is written as alpha = rank, the same scale (docs/lora.md).
      const std::optional<double> implied = implied_alpha(config, m.module);
      if (m.alpha != implied) {
        const double alpha = m.alpha ? *m.alpha : static_cast<double>(m.rank());
        tensors.emplace_back(name + ".alpha", at::scalar_tensor(alpha, at::kDouble));
      }
    }
    if (m.diff.defined()) tensors.emplace_back(name + ".diff", m.diff.to(at::kFloat));
    if (m.diff_b.defined()) tensors.emplace_back(name + ".diff_b", m.diff_b.to(at::kFloat));
  }
  write_safetensors(path, tensors, {{"format", "pt"}});
  if (config) write_file_atomically((fs::path(path).parent_path() / kConfigName).string(), file.adapter_config.dump(2) + "\n");
}

}  // namespace osp::io
