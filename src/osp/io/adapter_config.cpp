// adapter_config.json: type-checked reading of the fields that change how an adapter applies.
#include "osp/io/adapter_config.h"

#include <cmath>
#include <fstream>

#include "osp/core/error.h"
#include "osp/io/json_file.h"

namespace osp::io {
namespace {

using nlohmann::json;

// The field when present and not null, else nullptr.
const json* field(const json& config, const char* key) {
  const auto it = config.find(key);
  return it == config.end() || it->is_null() ? nullptr : &*it;
}

[[noreturn]] void wrong_type(const std::string& source, const std::string& key, const char* expected, const json& value) {
  fail_about(source, "field '{}' must be {}, got {}", key, expected, value.dump());
}

double finite_number(const std::string& source, const std::string& key, const json& value) {
  if (!value.is_number()) wrong_type(source, key, "a number", value);
  const double x = value.get<double>();
  if (!std::isfinite(x)) wrong_type(source, key, "a finite number", value);
  return x;
}

int64_t positive_integer(const std::string& source, const std::string& key, const json& value) {
  if (!value.is_number_integer() || value.get<int64_t>() < 1) wrong_type(source, key, "an integer >= 1", value);
  return value.get<int64_t>();
}

void check_target_modules(const std::string& source, const json& value) {
  // PEFT takes a list of module names or one regular expression.
  if (value.is_string()) return;
  if (!value.is_array()) wrong_type(source, "target_modules", "a list of strings or a string", value);
  for (const json& item : value) {
    if (!item.is_string()) wrong_type(source, "target_modules", "a list of strings or a string", value);
  }
}

// A setting whose `true` changes the arithmetic in a way these files cannot express.
void reject_if_true(const std::string& source, const json& config, const char* key, const char* why) {
  const json* value = field(config, key);
  if (!value) return;
  if (!value->is_boolean()) wrong_type(source, key, "true or false", *value);
  if (value->get<bool>()) fail_about(source, "field '{}' = true is not supported: {}", key, why);
}

std::vector<std::pair<std::string, double>> alpha_patterns(const std::string& source, const json& value) {
  if (!value.is_object()) wrong_type(source, "alpha_pattern", "an object of module name -> number", value);
  std::vector<std::pair<std::string, double>> out;
  for (const auto& [pattern, alpha] : value.items()) {
    const std::string key = "alpha_pattern." + pattern;
    // '.' is taken literally (module names); other regex syntax would silently not match.
    if (pattern.empty() || pattern.find_first_of("\\^$|?*+()[]{}") != std::string::npos) {
      fail_about(source, "field '{}': only literal module names are supported as patterns", key);
    }
    out.emplace_back(pattern, finite_number(source, key, alpha));
  }
  return out;
}

void check_rank_pattern(const std::string& source, const json& value) {
  if (!value.is_object()) wrong_type(source, "rank_pattern", "an object of module name -> integer", value);
  for (const auto& [pattern, rank] : value.items()) positive_integer(source, "rank_pattern." + pattern, rank);
}

bool pattern_matches(const std::string& module, const std::string& pattern) {
  return module == pattern || (module.size() > pattern.size() && module[module.size() - pattern.size() - 1] == '.' &&
                               module.compare(module.size() - pattern.size(), pattern.size(), pattern) == 0);
}

}  // namespace

std::optional<double> AdapterConfig::alpha_for(const std::string& module) const {
  std::optional<double> matched;
  for (const auto& [pattern, alpha] : alpha_pattern) {
    if (!pattern_matches(module, pattern)) continue;
    if (matched && *matched != alpha) {
      fail_about(module, "adapter_config.json alpha_pattern gives this module two alphas ({} and {})", *matched, alpha);
    }
    matched = alpha;
  }
  return matched ? matched : lora_alpha;
}

AdapterConfig parse_adapter_config(const json& config, const std::string& source) {
  if (!config.is_object()) fail_about(source, "adapter config must be a JSON object, got {}", config.type_name());
  AdapterConfig out;
  if (const json* r = field(config, "r")) out.r = positive_integer(source, "r", *r);
  if (const json* alpha = field(config, "lora_alpha")) out.lora_alpha = finite_number(source, "lora_alpha", *alpha);
  if (const json* targets = field(config, "target_modules")) check_target_modules(source, *targets);
  if (const json* patterns = field(config, "alpha_pattern")) out.alpha_pattern = alpha_patterns(source, *patterns);
  if (const json* ranks = field(config, "rank_pattern")) check_rank_pattern(source, *ranks);
  reject_if_true(source, config, "use_rslora", "rank-stabilised scaling (alpha / sqrt(r)) is not implemented");
  reject_if_true(source, config, "use_dora", "DoRA adapters are not implemented");
  return out;
}

json read_adapter_config_json(const std::string& path) { return read_json_object_file(path); }

}  // namespace osp::io
