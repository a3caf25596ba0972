#include "osp/train/yaml_section.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace osp::yaml {

namespace fs = std::filesystem;
using nlohmann::json;

json to_json(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return nullptr;
  if (node.IsSequence()) {
    json out = json::array();
    for (const auto& item : node) out.push_back(to_json(item));
    return out;
  }
  if (node.IsMap()) {
    json out = json::object();
    for (const auto& item : node) out[item.first.as<std::string>()] = to_json(item.second);
    return out;
  }
  const std::string text = node.Scalar();
  if (node.Tag() == "!") return text;  // quoted: a string
  bool flag;
  if (YAML::convert<bool>::decode(node, flag)) return flag;
  int64_t integer;
  if (YAML::convert<int64_t>::decode(node, integer)) return integer;
  double number;
  if (YAML::convert<double>::decode(node, number)) return number;
  return text;
}

std::string resolve(const std::string& path, const std::string& base_dir) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  return (fs::path(base_dir) / path).lexically_normal().string();
}

YAML::Node load_mapping(const std::string& text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    fail_about(source, "not valid YAML: {}", e.what());
  }
  if (!root.IsMap()) fail_about(source, "a config must be a YAML mapping");
  return root;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail_about(path, "cannot open the config");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace osp::yaml
