#include "osp/io/json_file.h"

#include <fstream>

#include "osp/core/error.h"

namespace osp::io {

nlohmann::json read_json_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_about(path, what.empty() ? "cannot open" : "cannot open {}", what);
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

}  // namespace osp::io
