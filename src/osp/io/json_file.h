#pragma once
// A JSON file read whole, with the errors every config and index reader wants: osp::Error naming
// the file when it cannot be opened or is not valid JSON (the parser's message attached).
#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace osp::io {

// `what` names the file's role in the "cannot open" message ("DiT config", …); may be empty.
nlohmann::json read_json_file(const std::string& path, const std::string& what = "");

// The same, and the top level must be a JSON object.
nlohmann::json read_json_object_file(const std::string& path, const std::string& what = "");

// For probing what a file is (which component a config.json describes): the top-level object, or
// nullopt when the file is missing, unreadable, not JSON or not an object. Never throws.
std::optional<nlohmann::json> probe_json_object_file(const std::string& path);

}  // namespace osp::io
