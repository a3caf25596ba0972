#include "osp/core/shape.h"
#include "osp/models/dit/loader.h"

#include <torch/csrc/autograd/grad_mode.h>

#include <filesystem>
#include <regex>
#include <algorithm>
#include <set>

#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/io/key_names.h"
#include "osp/nn/param_module.h"
#include "osp/quant/checkpoint.h"

namespace osp::dit {
namespace {

namespace fs = std::filesystem;

// Compares every parameter with the source before anything is copied, so that a wrong checkpoint
// fails fast and whole.
LoadReport plan_load(const torch::OrderedDict<std::string, at::Tensor>& params, const io::TensorSource& source,
                     const io::KeyMapping& mapping) {
  LoadReport report;
  report.layout = mapping.layout;
  std::set<std::string> used;
  for (const auto& item : params) {
    const auto it = mapping.canonical_to_source.find(item.key());
    if (it == mapping.canonical_to_source.end()) {
      report.missing.push_back(item.key());
      continue;
    }
    used.insert(it->second);
    const std::vector<int64_t> got = source.meta(it->second).shape;
    const std::vector<int64_t> expected(item.value().sizes().begin(), item.value().sizes().end());
    if (got != expected) report.mismatched.push_back({item.key(), expected, got});
  }
  for (const std::string& name : source.names()) {
    if (used.count(name) == 0) report.unexpected.push_back(name);
  }
  return report;
}

void raise_for_problems(const LoadReport& report, const io::TensorSource& source) {
  if (!report.mismatched.empty()) {
    std::vector<std::string> lines;
    for (const auto& m : report.mismatched) {
      lines.push_back(fmt::format("{} expected {} got {}", m.name, shape_string(m.expected), shape_string(m.got)));
    }
    fail_about(source.path(), "{} tensor(s) have the wrong shape for this DiT config: {}", lines.size(),
               io::listed_names(lines));
  }
  if (!report.missing.empty()) {
    fail_about(source.path(), "{} tensor(s) missing (key layout '{}'): {}", report.missing.size(), report.layout,
               io::listed_names(report.missing));
  }
}

// A diffusers pipeline directory holds the DiT in transformer/.
fs::path dit_directory(const fs::path& dir) {
  if (!fs::is_regular_file(dir / "config.json") && fs::is_directory(dir / "transformer")) return dir / "transformer";
  return dir;
}

const std::vector<int64_t>& shape_of(const io::TensorSource& source, const io::KeyMapping& mapping,
                                     const std::string& canonical) {
  const auto it = mapping.canonical_to_source.find(canonical);
  if (it == mapping.canonical_to_source.end()) fail_about(source.path(), "not a Wan DiT checkpoint: no {}", canonical);
  return source.meta(it->second).shape;
}

int64_t count_blocks(const io::KeyMapping& mapping) {
  static const std::regex block_key(R"(blocks\.(\d+)\.modulation)");
  int64_t count = 0;
  for (const auto& item : mapping.canonical_to_source) {
    std::smatch match;
    if (std::regex_match(item.first, match, block_key)) count = std::max<int64_t>(count, std::stoll(match[1]) + 1);
  }
  return count;
}

// The scales belong to their 8-bit weights: not "unexpected".
void drop_scales(std::vector<std::string>& unexpected, const quant::QuantizedTensors& quantized) {
  const std::set<std::string> scales(quantized.scale_names.begin(), quantized.scale_names.end());
  unexpected.erase(std::remove_if(unexpected.begin(), unexpected.end(),
                                  [&](const std::string& name) { return scales.count(name) > 0; }),
                   unexpected.end());
}

// The key mapping of a DiT checkpoint, with a warning for names that map onto a taken one.
io::KeyMapping checked_mapping(const io::TensorSource& source) {
  const io::KeyMapping mapping = io::map_dit_keys(source.names());
  if (!mapping.duplicates.empty()) {
    log::warn("{}: {} tensor(s) map onto an already-taken name and are ignored: {}", source.path(),
              mapping.duplicates.size(), io::listed_names(mapping.duplicates));
  }
  return mapping;
}

}  // namespace

LoadPlan plan_weights(const torch::OrderedDict<std::string, at::Tensor>& params, const io::TensorSource& source) {
  LoadPlan plan;
  plan.mapping = checked_mapping(source);
  plan.report = plan_load(params, source, plan.mapping);
  plan.quantized = quant::find_quantized_weights(source, plan.mapping);
  drop_scales(plan.report.unexpected, plan.quantized);
  plan.report.weights = plan.quantized.describe();
  raise_for_problems(plan.report, source);
  if (!plan.report.unexpected.empty()) {
    log::warn("{}: {} tensor(s) not used by the DiT: {}", source.path(), plan.report.unexpected.size(),
              io::listed_names(plan.report.unexpected));
  }
  return plan;
}

nn::LinearWeights& linear_with_weight(WanDiT& model, const std::string& name, const io::TensorSource& source) {
  const std::string module = name.size() > 7 ? name.substr(0, name.size() - 7) : "";
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    auto* layer = dynamic_cast<nn::LinearWeights*>(item.value().get());
    if (item.key() == module && layer != nullptr && name == module + ".weight") return *layer;
  }
  fail_about(source.path(), "{} holds 8-bit codes but is not the weight of a linear layer", name);
}

LoadReport load_weights(WanDiT& model, const io::TensorSource& source) {
  const auto params = model.named_parameters(/*recurse=*/true);
  LoadPlan plan = plan_weights(params, source);
  torch::NoGradGuard no_grad;
  for (const auto& item : params) {
    at::Tensor param = item.value();
    if (const quant::QuantizedEntry* entry = plan.quantized.find(item.key())) {
      linear_with_weight(model, item.key(), source).set_quantized(quant::load_quantized_weight(source, *entry));
    } else {
      param.copy_(source.load(plan.mapping.canonical_to_source.at(item.key()), param.scalar_type()));
    }
    ++plan.report.loaded;
  }
  return plan.report;
}

LoadReport for_each_checkpoint_weight(const torch::OrderedDict<std::string, at::Tensor>& params,
                                      const io::TensorSource& source,
                                      const std::function<void(const std::string&, const at::Tensor&)>& visit) {
  const io::KeyMapping mapping = checked_mapping(source);
  LoadReport report = plan_load(params, source, mapping);
  const quant::QuantizedTensors quantized = quant::find_quantized_weights(source, mapping);
  if (!quantized.empty()) fail_about(source.path(), "8-bit weights cannot be streamed into shards; convert them to bf16 first");
  raise_for_problems(report, source);
  for (const auto& item : params) {
    visit(item.key(), source.load(mapping.canonical_to_source.at(item.key()), item.value().scalar_type()));
    ++report.loaded;
  }
  return report;
}

io::ComponentFiles resolve_dit_paths(const std::string& weights_path, const std::optional<std::string>& config_path) {
  fs::path weights(weights_path);
  if (!fs::exists(weights)) fail_about(weights_path, "no such file or directory");
  if (fs::is_directory(weights)) weights = dit_directory(weights);
  if (config_path) {
    if (!fs::is_regular_file(*config_path)) fail_about(*config_path, "no such config file");
    return {weights.string(), *config_path};
  }
  fs::path dir = fs::is_directory(weights) ? weights : weights.parent_path();
  if (dir.empty()) dir = ".";
  if (fs::is_regular_file(dir / "config.json")) return {weights.string(), (dir / "config.json").string()};
  fail_about(weights_path, "no config.json in {} (pass --config)", dir.string());
}

std::string find_config(const std::string& weights_path, const std::optional<std::string>& config_path) {
  return *resolve_dit_paths(weights_path, config_path).config;
}

std::unique_ptr<WanDiT> load_dit(const std::string& weights_path, const std::optional<std::string>& config_path,
                                 Precision precision, c10::Device device,
                                 const std::function<void(DiTConfig&)>& adjust) {
  const io::ComponentFiles paths = resolve_dit_paths(weights_path, config_path);
  DiTConfig config = DiTConfig::from_file(*paths.config);
  if (adjust) {
    adjust(config);
    config.validate();
  }
  const std::unique_ptr<io::TensorSource> source = io::open_tensor_source(paths.weights);
  auto model = std::make_unique<WanDiT>(config, precision, device);
  const LoadReport report = load_weights(*model, *source);
  log::info("DiT {}: {} tensors from {} ({}, key layout {}, {} weights), {} precision", config.arch_name(),
            report.loaded, source->path(), source->format(), report.layout, report.weights, precision.name());
  return model;
}

UnloadedDiT build_unloaded_dit(const std::string& weights_path, const std::optional<std::string>& config_path,
                               Precision precision, c10::Device device,
                               const std::function<void(DiTConfig&)>& adjust) {
  const io::ComponentFiles paths = resolve_dit_paths(weights_path, config_path);
  DiTConfig config = DiTConfig::from_file(*paths.config);
  if (adjust) {
    adjust(config);
    config.validate();
  }
  UnloadedDiT out;
  out.model = std::make_unique<WanDiT>(config, precision, device);
  out.weights = paths.weights;
  return out;
}

ArchitectureGuess detect_architecture(const io::TensorSource& source) {
  const io::KeyMapping mapping = io::map_dit_keys(source.names());
  const auto& patch = shape_of(source, mapping, "patch_embedding.weight");  // [D, in, pt, ph, pw]
  if (patch.size() != 5) fail_about(source.path(), "patch_embedding.weight has shape {}, expected 5-D", shape_string(patch));
  ArchitectureGuess guess;
  guess.layout = mapping.layout;
  DiTConfig& c = guess.config;
  c.dim = patch[0];
  c.in_dim = patch[1];
  c.patch_size = {patch[2], patch[3], patch[4]};
  c.text_dim = shape_of(source, mapping, "text_embedding.0.weight").at(1);
  c.freq_dim = shape_of(source, mapping, "time_embedding.0.weight").at(1);
  c.ffn_dim = shape_of(source, mapping, "blocks.0.ffn.0.weight").at(0);
  c.out_dim = shape_of(source, mapping, "head.head.weight").at(0) / std::max<int64_t>(c.patch_volume(), 1);
  c.num_layers = count_blocks(mapping);
  // Heads are not visible in the shapes; every released Wan DiT has head_dim 128.
  c.num_heads = c.dim % 128 == 0 ? c.dim / 128 : 1;
  guess.name = c.arch_name();
  for (const char* preset : {"wan2.1-t2v-1.3b", "wan2.1-t2v-14b"}) {
    if (DiTConfig::preset(preset).arch_name() == guess.name) guess.preset = preset;
  }
  // OSP-Next 14B has the Wan 14B shapes: only its config.json tells them apart.
  return guess;
}

}  // namespace osp::dit
