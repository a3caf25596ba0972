#include "osp/train/manifest.h"

#include <filesystem>
#include <fstream>

#include "osp/core/error.h"
#include "osp/io/atomic_file.h"

namespace osp::train {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

const char* type_name(const json& value) { return value.type_name(); }

// The string field `key`; "" when absent (and not required). Other JSON types are an error, and so
// is an empty required path (a caption may be empty: an unconditional sample).
std::string string_field(const json& line, const char* key, bool required, const std::string& where) {
  const auto it = line.find(key);
  if (it == line.end()) {
    if (required) fail_about(where, "missing key \"{}\"", key);
    return {};
  }
  if (!it->is_string()) fail_about(where, "\"{}\" must be a string, got {}", key, type_name(*it));
  std::string value = it->get<std::string>();
  if (required && value.empty() && std::string(key) != "caption") fail_about(where, "\"{}\" is empty", key);
  return value;
}

std::string resolve(const std::string& path, const std::string& base_dir) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  return (fs::path(base_dir) / path).lexically_normal().string();
}

}  // namespace

bool Manifest::all_cached() const {
  for (const auto& e : entries) {
    if (!e.cached()) return false;
  }
  return true;
}

bool Manifest::all_video() const {
  for (const auto& e : entries) {
    if (e.cached()) return false;
  }
  return true;
}

ManifestEntry parse_manifest_line(const std::string& text, const std::string& base_dir, const std::string& where) {
  json line;
  try {
    line = json::parse(text);
  } catch (const json::exception& e) {
    fail_about(where, "not valid JSON ({})", e.what());
  }
  if (!line.is_object()) fail_about(where, "expected a JSON object, got {}", type_name(line));
  ManifestEntry entry;
  const bool has_video = line.contains("video"), has_latents = line.contains("latents");
  if (has_video && has_latents) fail_about(where, "has both \"video\" and \"latents\" (one sample kind per line)");
  if (!has_video && !has_latents) {
    fail_about(where, "missing key \"video\" (a video sample) or \"latents\" and \"context\" (a cached sample)");
  }
  if (has_video) {
    entry.video = resolve(string_field(line, "video", true, where), base_dir);
    entry.caption = string_field(line, "caption", true, where);
    if (line.contains("context")) fail_about(where, "has \"context\" but no \"latents\"");
  } else {
    entry.latents = resolve(string_field(line, "latents", true, where), base_dir);
    entry.context = resolve(string_field(line, "context", true, where), base_dir);
    if (line.contains("latents_tensor")) entry.latents_tensor = string_field(line, "latents_tensor", true, where);
    if (line.contains("context_tensor")) entry.context_tensor = string_field(line, "context_tensor", true, where);
    entry.caption = string_field(line, "caption", false, where);
  }
  entry.fields = std::move(line);
  return entry;
}

Manifest read_manifest(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail_about(path, "cannot open the manifest");
  Manifest manifest;
  manifest.path = path;
  const std::string base_dir = fs::path(path).parent_path().string();
  std::string text;
  for (int64_t n = 1; std::getline(in, text); ++n) {
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    ManifestEntry entry = parse_manifest_line(text, base_dir, fmt::format("{}:{}", path, n));
    entry.line = n;
    manifest.entries.push_back(std::move(entry));
  }
  if (in.bad()) fail_about(path, "read error");
  if (manifest.entries.empty()) fail_about(path, "the manifest has no samples");
  return manifest;
}

void write_manifest(const std::string& path, const std::vector<json>& lines) {
  std::string text;
  for (const json& line : lines) text += line.dump() + '\n';
  io::write_file_atomically(path, text);
}

std::string relative_to(const std::string& path, const std::string& dir) {
  const fs::path rel = fs::path(path).lexically_normal().lexically_relative(fs::path(dir).lexically_normal());
  if (rel.empty() || *rel.begin() == "..") return path;
  return rel.string();
}

}  // namespace osp::train
