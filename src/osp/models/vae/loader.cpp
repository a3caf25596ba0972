#include "osp/models/vae/loader.h"

#include <torch/csrc/autograd/grad_mode.h>

#include <filesystem>
#include <map>
#include <set>

#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/core/shape.h"
#include "osp/io/json_file.h"
#include "osp/io/vae_keys.h"

namespace osp::vae {
namespace {

namespace fs = std::filesystem;

// A VAE config.json beside weights or in a folder: one that names AutoencoderKLWan or has z_dim
// (a Wan release folder also holds the DiT's config.json, which must not be taken for it).
bool is_vae_config(const fs::path& path) {
  const std::optional<nlohmann::json> j = io::probe_json_object_file(path.string());
  return j && (j->value("_class_name", "") == "AutoencoderKLWan" || j->contains("z_dim"));
}

}  // namespace

io::LoadReport load_weights(WanVAE& model, const io::TensorSource& source) {
  io::LoadReport report;
  report.layout = "wan";
  std::map<std::string, std::string> to_source;  // canonical → file name
  for (const std::string& name : source.names()) {
    const std::string canonical = io::canonical_vae_key(name, model.config().num_res_blocks);
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
    fail_about(source.path(), "{} VAE tensor(s) have the wrong shape: {}{}", mismatched.size(), io::listed_names(mismatched),
               hint);
  }
  if (!missing.empty()) {
    fail_about(source.path(), "{} VAE tensor(s) missing (key layout '{}'): {}{}", missing.size(), report.layout,
               io::listed_names(missing), hint);
  }
  for (const auto& [canonical, name] : to_source) {
    if (!used.count(canonical)) report.unexpected.push_back(name);
  }
  if (!report.unexpected.empty()) {
    log::warn("{}: {} tensor(s) not used by the VAE: {}", source.path(), report.unexpected.size(),
              io::listed_names(report.unexpected));
  }
  torch::NoGradGuard no_grad;
  for (const auto& item : params) {
    at::Tensor param = item.value();
    param.copy_(source.load(to_source.at(item.key()), at::kFloat));  // compute in fp32 ("Checkpoint keys")
    ++report.loaded;
  }
  return report;
}

io::ComponentFiles resolve_vae_paths(const std::string& path, const std::optional<std::string>& config_path) {
  fs::path weights(path);
  if (!fs::exists(weights)) fail_about(path, "no such file or directory");
  if (config_path && !fs::is_regular_file(*config_path)) fail_about(*config_path, "no such config file");
  std::optional<std::string> config = config_path;
  if (fs::is_directory(weights)) {
    if (fs::is_directory(weights / "vae")) weights /= "vae";                          // diffusers pipeline
    else if (fs::is_regular_file(weights / "Wan2.1_VAE.pth")) weights /= "Wan2.1_VAE.pth";  // Wan release
  }
  if (!config) {
    const fs::path dir = fs::is_directory(weights) ? weights : weights.parent_path();
    if (is_vae_config(dir / "config.json")) config = (dir / "config.json").string();
  }
  return {weights.string(), config};
}

VaeConfig read_vae_config(const io::ComponentFiles& files) {
  return files.config ? VaeConfig::from_file(*files.config) : VaeConfig::wan21();
}

std::unique_ptr<WanVAE> load_vae(const std::string& path, const std::optional<std::string>& config_path,
                                 c10::Device device) {
  const io::ComponentFiles paths = resolve_vae_paths(path, config_path);
  const VaeConfig config = read_vae_config(paths);
  const std::unique_ptr<io::TensorSource> source = io::open_tensor_source(paths.weights);
  auto model = std::make_unique<WanVAE>(config, device);
  const io::LoadReport report = load_weights(*model, *source);
  log::info("VAE: {} tensors from {} ({}, key layout {}), config {}", report.loaded, source->path(), source->format(),
            report.layout, paths.config.value_or("Wan 2.1 defaults"));
  return model;
}

}  // namespace osp::vae
