#include "osp/adapters/apply.h"

#include <filesystem>

#include "osp/adapters/linear_layers.h"
#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/io/content_hash.h"

namespace osp::adapters {
namespace {

namespace fs = std::filesystem;

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

// The newest checkpoints/step-* folder of a training output folder, or empty.
fs::path newest_checkpoint(const fs::path& dir) {
  fs::path best;
  std::error_code ec;
  const fs::path root = fs::is_directory(dir / "checkpoints", ec) ? dir / "checkpoints" : dir;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && name.rfind("step-", 0) == 0 && (best.empty() || name > best.filename().string())) {
      best = entry.path();
    }
  }
  return best;
}

bool has_quantized_layer(torch::nn::Module& model) {
  for (const auto& [name, layer] : linear_layers(model)) {
    if (layer->quantized) return true;
  }
  return false;
}

}  // namespace

std::string resolve_adapter_file(const std::string& path, bool ema) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail_about(path, "no such file or directory");
  const fs::path p(path);
  if (!fs::is_directory(p, ec)) {
    if (ema) fail_about(path, "--ema needs a LoRA training or RL checkpoint folder, not a single adapter file");
    return path;
  }
  if (is_file(p / "adapter_config.json") && is_file(p / "model.safetensors")) {
    const fs::path chosen = p / (ema ? "ema.safetensors" : "model.safetensors");
    if (!is_file(chosen)) fail_about(path, "the checkpoint holds no {}", chosen.filename().string());
    return chosen.string();
  }
  if (!ema) {
    for (const char* name : {"adapter_model.safetensors", "adapter_model.bin"}) {
      if (is_file(p / name)) return (p / name).string();
    }
  }
  const fs::path checkpoint = newest_checkpoint(p);
  if (!checkpoint.empty() && checkpoint != p) return resolve_adapter_file(checkpoint.string(), ema);
  fail_about(path, "holds no adapter (adapter_model.safetensors, adapter_model.bin, or a LoRA checkpoint)");
}

std::vector<LoadedLora> load_loras(const std::vector<LoraSpec>& specs, bool ema) {
  std::vector<LoadedLora> loras;
  for (const LoraSpec& spec : specs) {
    LoadedLora l;
    l.spec = spec;
    l.file = resolve_adapter_file(spec.path, ema);
    const io::LoraFile file = io::read_lora_file(l.file);
    l.format = file.format;
    l.sha256 = io::sha256_file(l.file);
    l.adapter = Adapter(file, spec.scale);
    log::info("lora: {} ({}, {} modules, {} values, scale {})", l.file, l.format, l.adapter.entries().size(),
              l.adapter.parameter_count(), spec.scale);
    loras.push_back(std::move(l));
  }
  return loras;
}

LoraMode apply_loras(torch::nn::Module& model, std::vector<LoadedLora>& loras, LoraMode mode) {
  for (const LoadedLora& l : loras) l.adapter.check_fits(model);
  if (mode == LoraMode::kMerged && !loras.empty() && has_quantized_layer(model)) {
    log::info("lora: the model holds 8-bit weights, so the adapters run beside them (runtime mode)");
    mode = LoraMode::kRuntime;
  }
  for (LoadedLora& l : loras) {
    if (mode == LoraMode::kMerged) {
      l.adapter.merge_into(model);
    } else {
      l.adapter.attach(model);
    }
  }
  return mode;
}

std::string describe_loras(const std::vector<LoadedLora>& loras) {
  std::string out;
  for (const LoadedLora& l : loras) {
    if (!out.empty()) out += "; ";
    out += fmt::format("{} (sha256 {}, scale {})", fs::path(l.file).filename().string(), l.sha256, l.spec.scale);
  }
  return out;
}

}  // namespace osp::adapters
