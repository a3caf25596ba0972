#include "osp/models/vae/loader.h"

#include <torch/csrc/autograd/grad_mode.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/core/shape.h"
#include "osp/io/json_file.h"

namespace osp::vae {
namespace {

namespace fs = std::filesystem;

// "a, b, c (and 7 more)".
std::string first_ten(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < 10; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > 10) out += fmt::format(" (and {} more)", items.size() - 10);
  return out;
}

// Residual block leaves (docs/vae.md "Diffusers names"): norm1.gamma → residual.0.gamma, conv1 → residual.2, norm2.gamma →
// residual.3.gamma, conv2 → residual.6, conv_shortcut → shortcut.
std::string residual_leaf(const std::string& leaf) {
  static const std::vector<std::pair<std::string, std::string>> renames = {
      {"norm1.", "residual.0."}, {"conv1.", "residual.2."}, {"norm2.", "residual.3."},
      {"conv2.", "residual.6."}, {"conv_shortcut.", "shortcut."}};
  for (const auto& [from, to] : renames) {
    if (leaf.rfind(from, 0) == 0) return to + leaf.substr(from.size());
  }
  return leaf;
}

// A VAE config.json beside weights or in a folder: one that names AutoencoderKLWan or has z_dim
// (a Wan release folder also holds the DiT's config.json, which must not be taken for it).
bool is_vae_config(const fs::path& path) {
  if (!fs::is_regular_file(path)) return false;
  const std::optional<nlohmann::json> j = io::probe_json_object_file(path.string());
  return j && (j->value("_class_name", "") == "AutoencoderKLWan" || j->contains("z_dim"));
}

}  // namespace

std::string canonical_vae_key(const std::string& name, int64_t num_res_blocks) {
  static const std::map<std::string, std::string> whole = {
      {"quant_conv.weight", "conv1.weight"}, {"quant_conv.bias", "conv1.bias"},
      {"post_quant_conv.weight", "conv2.weight"}, {"post_quant_conv.bias", "conv2.bias"}};
  if (auto it = whole.find(name); it != whole.end()) return it->second;
  static const std::regex coder(R"((encoder|decoder)\.(.+))");
  std::smatch m;
  if (!std::regex_match(name, m, coder)) return name;
  const std::string side = m[1], rest = m[2];
  static const std::regex down(R"(down_blocks\.(\d+)\.(.+))");
  static const std::regex up_res(R"(up_blocks\.(\d+)\.resnets\.(\d+)\.(.+))");
  static const std::regex up_sample(R"(up_blocks\.(\d+)\.upsamplers\.0\.(.+))");
  static const std::regex mid_res(R"(mid_block\.resnets\.(\d+)\.(.+))");
  static const std::regex mid_attn(R"(mid_block\.attentions\.0\.(.+))");
  static const std::regex io_layer(R"((conv_in|norm_out|conv_out)\.(.+))");
  const int64_t per_level = num_res_blocks + 2;  // decoder: num_res_blocks + 1 residual blocks, one upsample
  std::smatch p;
  if (std::regex_match(rest, p, down)) {
    return fmt::format("{}.downsamples.{}.{}", side, p[1].str(), residual_leaf(p[2]));
  }
  if (std::regex_match(rest, p, up_res)) {
    return fmt::format("{}.upsamples.{}.{}", side, std::stoll(p[1]) * per_level + std::stoll(p[2]), residual_leaf(p[3]));
  }
  if (std::regex_match(rest, p, up_sample)) {
    return fmt::format("{}.upsamples.{}.{}", side, std::stoll(p[1]) * per_level + num_res_blocks + 1, p[2].str());
  }
  if (std::regex_match(rest, p, mid_res)) {
    return fmt::format("{}.middle.{}.{}", side, p[1] == "0" ? 0 : 2, residual_leaf(p[2]));
  }
  if (std::regex_match(rest, p, mid_attn)) return fmt::format("{}.middle.1.{}", side, p[1].str());
  if (std::regex_match(rest, p, io_layer)) {
    const std::string layer = p[1] == "conv_in" ? "conv1" : p[1] == "norm_out" ? "head.0" : "head.2";
    return fmt::format("{}.{}.{}", side, layer, p[2].str());
  }
  return name;
}

VaeLoadReport load_weights(WanVAE& model, const io::TensorSource& source) {
  VaeLoadReport report;
  report.layout = "wan";
  std::map<std::string, std::string> to_source;  // canonical → file name
  for (const std::string& name : source.names()) {
    const std::string canonical = canonical_vae_key(name, model.config().num_res_blocks);
    if (canonical != name) report.layout = "diffusers";
    to_source.emplace(canonical, name);
  }
  const auto params = model.named_parameters(/*recurse=*/true);
  std::vector<std::string> missing, mismatched;
  std::set<std::string> used;
  for (const auto& item : params) {
    const auto it = to_source.find(item.key());
    if (it == to_source.end()) {
      missing.push_back(item.key());
      continue;
    }
    used.insert(it->first);
    const std::vector<int64_t>& got = source.meta(it->second).shape;
    if (got != item.value().sizes().vec()) {
      mismatched.push_back(fmt::format("{} expected {} got {}", it->second, shape_string(item.value().sizes()),
                                       shape_string(got)));
    }
  }
  const std::string hint = " (is this a Wan 2.1 VAE? other sizes need --config)";
  if (!mismatched.empty()) {
    fail_about(source.path(), "{} VAE tensor(s) have the wrong shape: {}{}", mismatched.size(), first_ten(mismatched),
               hint);
  }
  if (!missing.empty()) {
    fail_about(source.path(), "{} VAE tensor(s) missing (key layout '{}'): {}{}", missing.size(), report.layout,
               first_ten(missing), hint);
  }
  for (const auto& [canonical, name] : to_source) {
    if (!used.count(canonical)) report.unexpected.push_back(name);
  }
  if (!report.unexpected.empty()) {
    log::warn("{}: {} tensor(s) not used by the VAE: {}", source.path(), report.unexpected.size(),
              first_ten(report.unexpected));
  }
  torch::NoGradGuard no_grad;
  for (const auto& item : params) {
    at::Tensor param = item.value();
    param.copy_(source.load(to_source.at(item.key()), at::kFloat));  // compute in fp32 ("Checkpoint keys")
    ++report.loaded;
  }
  return report;
}

VaePaths resolve_vae_paths(const std::string& path, const std::optional<std::string>& config_path) {
  fs::path weights(path);
  if (!fs::exists(weights)) fail_about(path, "no such file or directory");
  if (config_path && !fs::is_regular_file(*config_path)) fail_about(*config_path, "no such config file");
  std::string config = config_path.value_or("");
  if (fs::is_directory(weights)) {
    if (fs::is_directory(weights / "vae")) weights /= "vae";                          // diffusers pipeline
    else if (fs::is_regular_file(weights / "Wan2.1_VAE.pth")) weights /= "Wan2.1_VAE.pth";  // Wan release
  }
  if (config.empty()) {
    const fs::path dir = fs::is_directory(weights) ? weights : weights.parent_path();
    if (is_vae_config(dir / "config.json")) config = (dir / "config.json").string();
  }
  return {weights.string(), config};
}

std::unique_ptr<WanVAE> load_vae(const std::string& path, const std::optional<std::string>& config_path,
                                 c10::Device device) {
  const VaePaths paths = resolve_vae_paths(path, config_path);
  const VaeConfig config = paths.config.empty() ? VaeConfig::wan21() : VaeConfig::from_file(paths.config);
  const std::unique_ptr<io::TensorSource> source = io::open_tensor_source(paths.weights);
  auto model = std::make_unique<WanVAE>(config, device);
  const VaeLoadReport report = load_weights(*model, *source);
  log::info("VAE: {} tensors from {} ({}, key layout {}), config {}", report.loaded, source->path(), source->format(),
            report.layout, paths.config.empty() ? "Wan 2.1 defaults" : paths.config);
  return model;
}

}  // namespace osp::vae
