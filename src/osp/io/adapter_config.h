#pragma once
// PEFT's adapter_config.json, read as untrusted input: only the fields that change how the weights
// are applied are interpreted, each type-checked (docs/lora.md "Formats").
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace osp::io {

struct AdapterConfig {
  std::optional<int64_t> r;            // default rank (informative: ranks come from the tensors)
  std::optional<double> lora_alpha;    // alpha of every module without a more specific one
  // alpha_pattern entries: a module whose canonical name is the pattern, or ends with "." + the
  // pattern, takes that alpha. Patterns are matched literally (no regular expressions).
  std::vector<std::pair<std::string, double>> alpha_pattern;

  // The alpha this config gives `module` (alpha_pattern first, then lora_alpha), or nullopt.
  // Throws osp::Error when two patterns with different alphas match.
  std::optional<double> alpha_for(const std::string& module) const;
};

// Checks and interprets a parsed adapter_config.json; `source` names it in errors. Rejects settings
// this reader cannot honour (use_rslora, use_dora, regular-expression alpha patterns).
AdapterConfig parse_adapter_config(const nlohmann::json& config, const std::string& source);

// Reads and parses `path` (a JSON object). Throws osp::Error naming the file and field.
nlohmann::json read_adapter_config_json(const std::string& path);

}  // namespace osp::io
