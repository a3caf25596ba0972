#include "osp/adapters/trainable.h"

#include <ATen/core/grad_mode.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>

#include "osp/adapters/linear_layers.h"
#include "osp/core/error.h"

namespace osp::adapters {
namespace {

constexpr const char* kPeftPrefix = "base_model.model.";
constexpr const char* kDownSuffix = ".lora_A.weight";
constexpr const char* kUpSuffix = ".lora_B.weight";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

at::Tensor initial_down(int64_t rank, int64_t in, const std::string& init, at::Generator& generator) {
  at::Tensor a = at::empty({rank, in}, at::kFloat);
  if (init == "gaussian") return a.normal_(0.0, 1.0 / static_cast<double>(rank), generator);
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  return a.uniform_(-bound, bound, generator);
}

}  // namespace

std::vector<std::string> LoraTrainingSpec::default_targets() {
  return {"self_attn.q", "self_attn.k", "self_attn.v", "self_attn.o",
          "cross_attn.q", "cross_attn.k", "cross_attn.v", "cross_attn.o"};
}

void LoraTrainingSpec::validate(const std::string& prefix) const {
  if (rank < 1) fail_about(prefix + ".rank", "must be at least 1, got {}", rank);
  if (!std::isfinite(alpha) || alpha <= 0) fail_about(prefix + ".alpha", "must be a positive number, got {}", alpha);
  if (targets.empty()) fail_about(prefix + ".targets", "must name at least one module");
  for (const std::string& t : targets) {
    if (t.empty()) fail_about(prefix + ".targets", "holds an empty name");
  }
  if (init != "gaussian" && init != "kaiming") {
    fail_about(prefix + ".init", "must be gaussian or kaiming, got '{}'", init);
  }
}

bool is_target(const std::string& module, const std::vector<std::string>& targets) {
  for (const std::string& t : targets) {
    if (module == t || ends_with(module, "." + t)) return true;
  }
  return false;
}

Adapter make_trainable_lora(torch::nn::Module& model, const LoraTrainingSpec& spec, at::Generator generator) {
  spec.validate();
  const auto layers = linear_layers(model);
  std::vector<std::pair<std::string, const nn::LinearWeights*>> chosen;
  for (const auto& [name, layer] : layers) {
    if (is_target(name, spec.targets)) chosen.emplace_back(name, layer);
  }
  if (chosen.empty()) {
    fail_about("lora.targets", "[{}] selects none of the model's {} linear layers (e.g. {})",
               fmt::join(spec.targets, ", "), layers.size(), layers.empty() ? "none" : layers.begin()->first);
  }
  at::NoGradGuard no_grad;
  io::LoraFile file;
  for (const auto& [name, layer] : chosen) {
    io::LoraModule m;
    m.module = name;
    m.down = initial_down(spec.rank, layer->in_features(), spec.init, generator);
    m.up = at::zeros({layer->out_features(), spec.rank}, at::kFloat);
    m.alpha = spec.alpha;
    m.source_key = kPeftPrefix + name + kDownSuffix;
    file.modules.push_back(std::move(m));
  }
  Adapter adapter(file, 1.0);
  for (auto& entry : adapter.entries()) {
    entry.delta->down.requires_grad_(true);
    entry.delta->up.requires_grad_(true);
  }
  return adapter;
}

NamedTensors peft_tensors(const Adapter& adapter) {
  NamedTensors out;
  for (const auto& entry : adapter.entries()) {
    if (!entry.delta->down.defined()) continue;
    out.emplace_back(kPeftPrefix + entry.module + kDownSuffix, entry.delta->down);
    out.emplace_back(kPeftPrefix + entry.module + kUpSuffix, entry.delta->up);
  }
  return out;
}

nlohmann::json adapter_config(const LoraTrainingSpec& spec) {
  return {{"peft_type", "LORA"},  {"r", spec.rank},
          {"lora_alpha", spec.alpha}, {"target_modules", spec.targets},
          {"init_lora_weights", spec.init}, {"lora_dropout", 0.0},
          {"bias", "none"}};
}

io::LoraFile lora_file_from(const NamedTensors& tensors, const LoraTrainingSpec& spec) {
  std::map<std::string, io::LoraModule> modules;
  const std::string prefix = kPeftPrefix;
  for (const auto& [name, tensor] : tensors) {
    const bool down = ends_with(name, kDownSuffix), up = ends_with(name, kUpSuffix);
    if (name.rfind(prefix, 0) != 0 || (!down && !up)) fail_about(name, "is not a LoRA tensor name");
    const std::string module =
        name.substr(prefix.size(), name.size() - prefix.size() - std::string(down ? kDownSuffix : kUpSuffix).size());
    io::LoraModule& m = modules[module];
    m.module = module;
    m.alpha = spec.alpha;
    m.source_key = name;
    (down ? m.down : m.up) = tensor.detach().to(at::kFloat).contiguous();
  }
  io::LoraFile file;
  file.format = "peft";
  file.adapter_config = adapter_config(spec);
  for (auto& [name, m] : modules) file.modules.push_back(std::move(m));
  return file;
}

}  // namespace osp::adapters
