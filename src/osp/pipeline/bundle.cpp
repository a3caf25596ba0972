#include "osp/pipeline/bundle.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "osp/core/error.h"
#include "osp/io/json_file.h"

namespace osp::pipeline {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The official Wan 2.1 release file names (docs/design.md "Input formats").
constexpr const char* kWanT5File = "models_t5_umt5-xxl-enc-bf16.pth";
constexpr const char* kWanVaeFile = "Wan2.1_VAE.pth";
constexpr const char* kWanTokenizerDir = "google/umt5-xxl";

// The flag that sets each component, for messages.
std::string component_flag(const std::string& name) {
  if (name == "text_encoder") return "--text-encoder";
  return "--" + name;
}

// The member of `bundle` (const or not) holding component `name` (one of component_names()).
template <typename Bundle>
auto& component(Bundle& bundle, const std::string& name) {
  if (name == "dit") return bundle.dit;
  if (name == "text_encoder") return bundle.text_encoder;
  if (name == "tokenizer") return bundle.tokenizer;
  return bundle.vae;
}

std::string resolve_path(const std::string& root, const std::string& path) {
  if (root.empty() || fs::path(path).is_absolute()) return path;
  return (fs::path(root) / path).lexically_normal().string();
}

std::string string_field(const json& value, const std::string& source, const std::string& key) {
  if (!value.is_string() || value.get<std::string>().empty()) {
    fail_about(source, "field '{}' must be a non-empty string (a path), got {}", key, value.dump());
  }
  return value.get<std::string>();
}

// Any string, "" included (a negative prompt).
std::string text_field(const json& value, const std::string& source, const std::string& key) {
  if (!value.is_string()) fail_about(source, "field '{}' must be a string, got {}", key, value.dump());
  return value.get<std::string>();
}

// "path" or {"path": ..., "config": ...}.
ComponentRef parse_component(const json& value, const std::string& root, const std::string& source,
                             const std::string& name) {
  ComponentRef ref;
  if (value.is_string()) {
    ref.path = resolve_path(root, string_field(value, source, name));
    return ref;
  }
  if (!value.is_object()) {
    fail_about(source, "field '{}' must be a path or an object {{\"path\": ..., \"config\": ...}}, got {}", name,
               value.dump());
  }
  for (const auto& item : value.items()) {
    const std::string key = name + "." + item.key();
    if (item.key() == "path") ref.path = resolve_path(root, string_field(item.value(), source, key));
    else if (item.key() == "config") ref.config = resolve_path(root, string_field(item.value(), source, key));
    else if (item.key().rfind('_', 0) != 0) fail_about(source, "unknown field '{}' (expected path, config)", key);
  }
  if (ref.path.empty()) fail_about(source, "field '{}' has no \"path\"", name);
  return ref;
}

int64_t integer_field(const json& value, const std::string& source, const std::string& key) {
  if (!value.is_number_integer()) fail_about(source, "field '{}' must be an integer, got {}", key, value.dump());
  return value.get<int64_t>();
}

double number_field(const json& value, const std::string& source, const std::string& key) {
  if (!value.is_number()) fail_about(source, "field '{}' must be a number, got {}", key, value.dump());
  return value.get<double>();
}

BundleDefaults parse_defaults(const json& value, const std::string& source) {
  if (!value.is_object()) fail_about(source, "field 'defaults' must be an object, got {}", value.dump());
  BundleDefaults d;
  for (const auto& item : value.items()) {
    const std::string& k = item.key();
    const std::string key = "defaults." + k;
    const json& v = item.value();
    if (k == "width") d.width = integer_field(v, source, key);
    else if (k == "height") d.height = integer_field(v, source, key);
    else if (k == "frames") d.frames = integer_field(v, source, key);
    else if (k == "steps") d.steps = integer_field(v, source, key);
    else if (k == "fps") d.fps = integer_field(v, source, key);
    else if (k == "shift") d.shift = number_field(v, source, key);
    else if (k == "guidance") d.guidance = number_field(v, source, key);
    else if (k == "sampler") d.sampler = string_field(v, source, key);
    else if (k == "negative_prompt") d.negative_prompt = text_field(v, source, key);
    else if (k.rfind('_', 0) != 0) {
      fail_about(source, "unknown field '{}' (expected width, height, frames, steps, shift, guidance, sampler, fps, negative_prompt)",
                 key);
    }
  }
  return d;
}

json read_json(const fs::path& path) { return io::read_json_file(path.string()); }

bool is_osp_bundle_config(const json& config) {
  if (!config.is_object()) return false;
  if (config.value("_class_name", json()) == json("OspNextBundle")) return true;
  for (const auto& name : component_names()) {
    if (config.contains(name)) return true;
  }
  return config.contains("defaults");
}

// Sets `ref` to dir/relative when that exists (a missing file stays missing, reported later).
void take_if_exists(ComponentRef& ref, const fs::path& dir, const std::string& relative) {
  if (fs::exists(dir / relative)) ref.path = (dir / relative).string();
}

ModelBundle wan_release(const fs::path& dir) {
  ModelBundle bundle;
  bundle.root = dir.string();
  bundle.layout = "wan release";
  bundle.dit.path = dir.string();  // the DiT loader finds the weights and config.json in the directory
  take_if_exists(bundle.text_encoder, dir, kWanT5File);
  take_if_exists(bundle.tokenizer, dir, kWanTokenizerDir);
  take_if_exists(bundle.vae, dir, kWanVaeFile);
  return bundle;
}

ModelBundle diffusers_layout(const fs::path& dir) {
  ModelBundle bundle;
  bundle.root = dir.string();
  bundle.layout = "diffusers";
  take_if_exists(bundle.dit, dir, "transformer");
  take_if_exists(bundle.text_encoder, dir, "text_encoder");
  take_if_exists(bundle.tokenizer, dir, "tokenizer");
  take_if_exists(bundle.vae, dir, "vae");
  return bundle;
}

ModelBundle bundle_from_directory(const std::string& directory) {
  const fs::path dir(directory);
  if (!fs::exists(dir)) fail_about(directory, "model directory does not exist");
  if (!fs::is_directory(dir)) fail_about(directory, "--model expects a directory");
  const fs::path config = dir / "config.json";
  if (fs::is_regular_file(config)) {
    const json j = read_json(config);
    if (is_osp_bundle_config(j)) return parse_bundle_config(j, dir.string(), config.string());
    return wan_release(dir);
  }
  if (fs::is_regular_file(dir / "model_index.json")) return diffusers_layout(dir);
  fail_about(directory,
             "not a model bundle: expected config.json naming dit, text_encoder, tokenizer and vae, a Wan 2.1 "
             "release directory, or a diffusers model_index.json");
}

void apply(ComponentRef& ref, const std::optional<std::string>& path, const std::optional<std::string>& config) {
  if (path) {
    ref.path = *path;
    ref.config.reset();  // the bundle's config described the bundle's weights, not these
  }
  if (config) ref.config = *config;
}

void check_components(const ModelBundle& bundle) {
  std::vector<std::string> missing;
  for (const auto& name : component_names()) {
    if (component(bundle, name).path.empty()) missing.push_back(fmt::format("{} ({})", name, component_flag(name)));
  }
  if (!missing.empty()) {
    fail_about(bundle.root.empty() ? "model" : bundle.root, "missing model components: {}{}",
               fmt::join(missing, ", "), bundle.root.empty() ? " (pass --model DIR or the component flags)" : "");
  }
  for (const auto& name : component_names()) {
    const ComponentRef& ref = component(bundle, name);
    if (!fs::exists(ref.path)) fail_about(ref.path, "{} ({}): no such file or directory", name, component_flag(name));
    if (ref.config && !fs::is_regular_file(*ref.config)) {
      fail_about(*ref.config, "{} config ({}-config): no such file", name, component_flag(name));
    }
  }
}

}  // namespace

const std::vector<std::string>& component_names() {
  static const std::vector<std::string> names = {"dit", "text_encoder", "tokenizer", "vae"};
  return names;
}

ModelBundle parse_bundle_config(const json& config, const std::string& root, const std::string& source) {
  if (!config.is_object()) fail_about(source, "a bundle config must be a JSON object");
  ModelBundle bundle;
  bundle.root = root;
  bundle.layout = "osp bundle";
  for (const auto& item : config.items()) {
    const std::string& key = item.key();
    const auto& names = component_names();
    if (std::find(names.begin(), names.end(), key) != names.end()) {
      component(bundle, key) = parse_component(item.value(), root, source, key);
    } else if (key == "defaults") {
      bundle.defaults = parse_defaults(item.value(), source);
    } else if (key.rfind('_', 0) != 0) {
      fail_about(source, "unknown field '{}' (expected dit, text_encoder, tokenizer, vae, defaults)", key);
    }
  }
  // Invalid defaults are reported against the bundle, not against flags the user never typed.
  try {
    validate(generation_defaults(bundle));
  } catch (const Error& e) {
    fail_about(source, "invalid defaults: {}", e.what());
  }
  return bundle;
}

ModelBundle resolve_bundle(const std::optional<std::string>& directory, const ComponentOverrides& overrides) {
  ModelBundle bundle;
  bundle.layout = "explicit paths";
  if (directory) bundle = bundle_from_directory(*directory);
  apply(bundle.dit, overrides.dit, overrides.dit_config);
  apply(bundle.text_encoder, overrides.text_encoder, overrides.text_encoder_config);
  apply(bundle.tokenizer, overrides.tokenizer, overrides.tokenizer_config);
  apply(bundle.vae, overrides.vae, overrides.vae_config);
  check_components(bundle);
  return bundle;
}

GenerationParams generation_defaults(const ModelBundle& bundle, GenerationParams base) {
  return overlay(std::move(base), bundle.defaults);
}

GenerationParams overlay(GenerationParams base, const BundleDefaults& d) {
  GenerationParams p = std::move(base);
  p.width = d.width.value_or(p.width);
  p.height = d.height.value_or(p.height);
  p.frames = d.frames.value_or(p.frames);
  p.steps = d.steps.value_or(p.steps);
  p.fps = d.fps.value_or(p.fps);
  p.shift = d.shift.value_or(p.shift);
  p.guidance = d.guidance.value_or(p.guidance);
  p.sampler = d.sampler.value_or(p.sampler);
  if (d.negative_prompt) p.negative_prompt = d.negative_prompt;
  return p;
}

}  // namespace osp::pipeline
