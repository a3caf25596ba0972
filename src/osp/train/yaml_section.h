#pragma once
// Strict reading of YAML configuration files (`osp train`, `osp rl`): a Section is one mapping
// whose every key read is remembered, so that finish() can reject the keys nobody asked for, and
// whose errors name "<file>: <section>.<field>".
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "osp/core/error.h"

namespace osp::yaml {

// One YAML mapping of a config; every key read is marked, finish() rejects the others.
class Section {
 public:
  Section(YAML::Node node, std::string path, std::string source)
      : node_(std::move(node)), path_(std::move(path)), source_(std::move(source)) {
    if (node_.IsDefined() && !node_.IsNull() && !node_.IsMap()) fail_field("", "must be a mapping of fields");
  }

  bool has(const std::string& key) {
    known_.insert(key);
    return node_.IsMap() && node_[key].IsDefined() && !node_[key].IsNull();
  }

  template <typename T>
  T get(const std::string& key, T fallback) {
    if (!has(key)) return fallback;
    try {
      return node_[key].as<T>();
    } catch (const YAML::Exception&) {
      fail_field(key, "cannot read '{}' as a {}", YAML::Dump(node_[key]), type_name<T>());
    }
  }

  YAML::Node node(const std::string& key) {
    known_.insert(key);
    return node_.IsMap() ? node_[key] : YAML::Node();
  }

  Section section(const std::string& key) { return Section(node(key), field(key), source_); }

  // Rejects keys that were never asked for.
  void finish() const {
    if (!node_.IsMap()) return;
    for (const auto& item : node_) {
      const std::string key = item.first.as<std::string>();
      if (!known_.count(key)) {
        std::vector<std::string> names(known_.begin(), known_.end());
        fail_field(key, "unknown field (known here: {})", fmt::join(names, ", "));
      }
    }
  }

  std::string field(const std::string& key) const { return path_.empty() ? key : key.empty() ? path_ : path_ + "." + key; }

  template <typename... Args>
  [[noreturn]] void fail_field(const std::string& key, fmt::format_string<Args...> format, Args&&... args) const {
    throw Error(source_ + ": " + field(key), fmt::format(format, std::forward<Args>(args)...));
  }

 private:
  template <typename T>
  static const char* type_name() {
    if constexpr (std::is_same_v<T, std::string>) return "string";
    else if constexpr (std::is_same_v<T, bool>) return "boolean";
    else if constexpr (std::is_floating_point_v<T>) return "number";
    else return "integer";
  }

  YAML::Node node_;
  std::string path_, source_;
  std::set<std::string> known_;
};

// YAML scalars to JSON values: booleans, integers, numbers, else strings (quoted scalars stay
// strings); sequences and mappings recursively.
nlohmann::json to_json(const YAML::Node& node);

// `path` relative to `base_dir` (a config file's folder) unless it is empty or absolute.
std::string resolve(const std::string& path, const std::string& base_dir);

// Parses YAML text into its root node; osp::Error naming `source` when it is not valid YAML or not
// a mapping.
YAML::Node load_mapping(const std::string& text, const std::string& source);

// The text of a file, osp::Error naming it when unreadable.
std::string read_file(const std::string& path);

}  // namespace osp::yaml
