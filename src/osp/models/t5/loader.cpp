#include "osp/models/t5/loader.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "osp/core/error.h"
#include "osp/io/json_file.h"
#include "osp/io/t5_keys.h"
#include "osp/models/t5/layer_streamer.h"
#include "osp/core/log.h"
#include "osp/core/progress.h"
#include "osp/core/shape.h"

namespace osp::t5 {
namespace {

namespace fs = std::filesystem;

constexpr const char* kWanFileName = "models_t5_umt5-xxl-enc-bf16.pth";

// Names and shapes of the whole checkpoint against the config, before anything is read.
void check_against_config(const T5Config& config, const io::TensorSource& source, const io::KeyMapping& mapping) {
  std::vector<std::string> missing, mismatched;
  for (const auto& [name, expected] : config.expected_tensor_shapes()) {
    const auto it = mapping.canonical_to_source.find(name);
    if (it == mapping.canonical_to_source.end()) {
      missing.push_back(name);
      continue;
    }
    const std::vector<int64_t>& got = source.meta(it->second).shape;
    if (got != expected) {
      mismatched.push_back(fmt::format("{} expected {} got {}", it->second, shape_string(expected), shape_string(got)));
    }
  }
  if (!mismatched.empty()) {
    fail_about(source.path(), "{} tensor(s) have the wrong shape for the T5 config (pass the right --config): {}",
               mismatched.size(), io::listed_names(mismatched));
  }
  if (!missing.empty()) {
    fail_about(source.path(), "not a complete umT5 encoder ({} layout): {} tensor(s) missing: {}", mapping.layout,
               missing.size(), io::listed_names(missing));
  }
}

// A config.json holding T5 fields (a Wan checkpoint directory's config.json is the DiT's).
bool is_t5_config(const fs::path& path) {
  const std::optional<nlohmann::json> j = io::probe_json_object_file(path.string());
  return j && j->contains("d_model") && j->contains("d_ff");
}

}  // namespace

io::KeyMapping checked_t5_mapping(const T5Config& config, const io::TensorSource& source) {
  io::KeyMapping mapping = io::map_t5_keys(source.names());
  check_against_config(config, source, mapping);
  if (!mapping.unexpected.empty()) {
    log::warn("{}: {} tensor(s) not used by the T5 encoder: {}", source.path(), mapping.unexpected.size(),
              io::listed_names(mapping.unexpected));
  }
  return mapping;
}

io::LoadReport load_t5_weights(T5Encoder& encoder, const io::TensorSource& source) {
  const io::KeyMapping mapping = checked_t5_mapping(encoder.config(), source);
  io::LoadReport report;
  report.layout = mapping.layout;
  report.unexpected = mapping.unexpected;
  auto slots = encoder.weights().named_slots();
  Progress progress("load T5", static_cast<int64_t>(slots.size()));
  for (auto& [name, slot] : slots) {
    // Read straight into the final dtype; the only other resident copy is this one tensor's file
    // pages, which the reader releases after the copy (io/tensor_source.h).
    at::Tensor tensor = source.load(mapping.canonical_to_source.at(name), encoder.weight_dtype());
    *slot = encoder.device().is_cpu() ? std::move(tensor) : tensor.to(encoder.device());
    ++report.loaded;
    progress.step();
  }
  progress.finish();
  return report;
}

io::ComponentFiles resolve_t5_paths(const std::string& path, const std::optional<std::string>& config_path) {
  fs::path weights(path);
  if (!fs::exists(weights)) fail_about(path, "no such file or directory");
  if (fs::is_directory(weights)) {
    if (fs::is_regular_file(weights / kWanFileName)) weights /= kWanFileName;           // Wan checkpoint dir
    else if (fs::is_directory(weights / "text_encoder")) weights /= "text_encoder";  // diffusers root
  }
  io::ComponentFiles paths{weights.string(), std::nullopt};
  if (config_path) {
    if (!fs::is_regular_file(*config_path)) fail_about(*config_path, "no such config file");
    paths.config = *config_path;
    return paths;
  }
  const fs::path dir = fs::is_directory(weights) ? weights : weights.parent_path();
  const fs::path beside = (dir.empty() ? fs::path(".") : dir) / "config.json";
  if (is_t5_config(beside)) paths.config = beside.string();
  return paths;
}

T5Config read_t5_config(const io::ComponentFiles& files) {
  return files.config ? T5Config::from_file(*files.config) : T5Config::umt5_xxl();
}

std::unique_ptr<T5Encoder> load_t5_encoder(const std::string& path, const std::optional<std::string>& config_path,
                                           Precision precision, c10::Device device, bool stream_layers) {
  const io::ComponentFiles paths = resolve_t5_paths(path, config_path);
  const T5Config config = read_t5_config(paths);
  std::shared_ptr<const io::TensorSource> source = io::open_tensor_source(paths.weights);
  auto encoder = std::make_unique<T5Encoder>(config, precision, device);
  if (stream_layers) {
    auto streamer = std::make_unique<T5LayerStreamer>(*encoder, source);
    const std::string layout = streamer->layout();
    encoder->set_residency(std::move(streamer));
    log::info("T5 encoder: {} layers, d_model {}, streamed layer by layer from {} ({}, {} names); the token "
              "embedding's rows are read per prompt", config.num_layers, config.d_model, source->path(),
              source->format(), layout);
    return encoder;
  }
  const io::LoadReport report = load_t5_weights(*encoder, *source);
  log::info("T5 encoder: {} layers, d_model {}, {} tensors from {} ({}, {} names), config {}, {} precision, {:.2f} GiB",
            config.num_layers, config.d_model, report.loaded, source->path(), source->format(), report.layout,
            paths.config.value_or("umt5-xxl (default)"), precision.name(),
            static_cast<double>(encoder->weights().bytes()) / (1024.0 * 1024.0 * 1024.0));
  return encoder;
}

std::string encoder_file_identity(const std::string& path) {
  const io::ComponentFiles paths = resolve_t5_paths(path, std::nullopt);
  std::vector<fs::path> files;
  const fs::path weights(paths.weights);
  if (fs::is_directory(weights)) {
    for (const auto& entry : fs::directory_iterator(weights)) {
      if (entry.is_regular_file()) files.push_back(entry.path());
    }
  } else {
    files.push_back(weights);
  }
  std::sort(files.begin(), files.end());
  std::string identity;
  for (const fs::path& file : files) {
    const auto mtime = fs::last_write_time(file).time_since_epoch().count();
    identity += fmt::format("{}|{}|{};", fs::canonical(file).string(), fs::file_size(file), mtime);
  }
  return identity;
}

}  // namespace osp::t5
