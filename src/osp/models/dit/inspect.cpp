#include "osp/core/shape.h"
#include "osp/models/dit/inspect.h"

#include <fmt/format.h>

#include <set>

#include "osp/core/error.h"
#include "osp/io/input_tensors.h"
#include "osp/io/key_names.h"
#include "osp/models/dit/loader.h"
#include "osp/models/dit/schedule.h"
#include "osp/quant/checkpoint.h"

namespace osp::dit {

namespace {

bool holds_dit(const io::KeyMapping& mapping) {
  return mapping.canonical_to_source.count("patch_embedding.weight") || mapping.canonical_to_source.count("head.modulation");
}

std::string summarize(const DiTConfig& c) {
  return fmt::format("dim {}, ffn {}, heads {}x{}, layers {}, in/out {}/{}, text {}x{}, patch {}x{}x{}", c.dim,
                     c.ffn_dim, c.num_heads, c.head_dim(), c.num_layers, c.in_dim, c.out_dim, c.text_dim, c.text_len,
                     c.patch_size[0], c.patch_size[1], c.patch_size[2]);
}

// The config of the checkpoint and where it came from.
std::pair<DiTConfig, std::string> resolve_config(const io::TensorSource& source, const std::string& path,
                                                 const std::optional<std::string>& config_path,
                                                 std::string& architecture) {
  std::string file;
  try {
    file = find_config(path, config_path);
  } catch (const Error&) {
    if (config_path) throw;
    ArchitectureGuess guess = detect_architecture(source);
    architecture = guess.name;
    return {guess.config, "from tensor shapes"};
  }
  DiTConfig config = DiTConfig::from_file(file);
  architecture = config.arch_name();
  return {config, file};
}

void compare_keys(const DiTConfig& config, const io::TensorSource& source, const io::KeyMapping& mapping,
                  const quant::QuantizedTensors& quantized, CheckpointReport& report) {
  // The scales of 8-bit weights belong to their weights.
  std::set<std::string> expected_names(quantized.scale_names.begin(), quantized.scale_names.end());
  for (const auto& [name, shape] : config.expected_tensor_shapes()) {
    expected_names.insert(name);
    auto found = mapping.canonical_to_source.find(name);
    if (found == mapping.canonical_to_source.end()) {
      report.missing.push_back(name);
      continue;
    }
    const auto& got = source.meta(found->second).shape;
    if (got != shape)
      report.mismatched.push_back(
          fmt::format("{}: expected {}, got {}", name, shape_string(shape), shape_string(got)));
  }
  for (const auto& [canonical, source_name] : mapping.canonical_to_source)
    if (!expected_names.count(canonical) && !expected_names.count(source_name)) report.unexpected.push_back(source_name);
  for (const auto& duplicate : mapping.duplicates) report.unexpected.push_back(duplicate + " (duplicate)");
}

}  // namespace

std::optional<CheckpointReport> inspect_checkpoint(const io::TensorSource& source, const std::string& path,
                                                   const std::optional<std::string>& config_path) {
  io::KeyMapping mapping = io::map_dit_keys(source.names());
  if (!holds_dit(mapping)) return std::nullopt;
  CheckpointReport report;
  report.layout = mapping.layout;
  auto [config, origin] = resolve_config(source, path, config_path, report.architecture);
  report.config_origin = origin;
  report.config_summary = summarize(config);
  report.block_schedule = describe_schedule(config);
  const quant::QuantizedTensors quantized = quant::find_quantized_weights(source, mapping);
  report.weights = quantized.describe();
  compare_keys(config, source, mapping, quantized, report);
  return report;
}

}  // namespace osp::dit
