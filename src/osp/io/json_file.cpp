#include "osp/io/json_file.h"

#include <filesystem>
#include <fstream>

#include "osp/core/error.h"

namespace osp::io {

nlohmann::json read_json_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  // A directory opens but throws from its first read: refuse it by name instead.
  if (!in || std::filesystem::is_directory(path)) fail_about(path, what.empty() ? "cannot open" : "cannot open {}", what);
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    fail_about(path, "not valid JSON: {}", e.what());
  }
}

nlohmann::json read_json_object_file(const std::string& path, const std::string& what) {
  nlohmann::json j = read_json_file(path, what);
  if (!j.is_object()) fail_about(path, "must hold a JSON object, got {}", j.type_name());
  return j;
}

std::optional<nlohmann::json> probe_json_object_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;  // a parse error gives a "discarded" value, not an object
  return j;
}

}  // namespace osp::io
