#pragma once
// Training manifests: JSON Lines, one sample per line (docs/training-data.md "Manifests").
//   video samples:  {"video": PATH, "caption": TEXT, ...}
//   cached samples: {"latents": PATH, "context": PATH, ["latents_tensor": NAME], ["context_tensor": NAME],
//                    ["caption": TEXT], ...}
// Paths are relative to the manifest's folder (absolute paths stay as they are). Other fields
// (the Shapes attributes, bucket sizes, …) are kept for the reader. Blank lines are skipped.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace osp::train {

struct ManifestEntry {
  int64_t line = 0;     // 1-based line in the manifest file
  std::string video;    // resolved path; empty for cached samples
  std::string caption;  // required for video samples, optional for cached ones
  std::string latents, context;                 // resolved paths of a cached sample
  std::string latents_tensor = "latents";       // tensor names inside those files
  std::string context_tensor = "context";
  nlohmann::ordered_json fields;  // the line as written (paths unresolved)

  bool cached() const { return !latents.empty(); }
};

struct Manifest {
  std::string path;
  std::vector<ManifestEntry> entries;
  // Whether every entry is a cached sample (the trainer's fast path) / a video sample.
  bool all_cached() const;
  bool all_video() const;
};

// Parses one manifest line (already known not to be blank). osp::Error about "<where>" (the
// caller passes "file:line") for invalid JSON, a non-object line, missing keys, fields of the wrong
// type, or a line with both "video" and "latents".
ManifestEntry parse_manifest_line(const std::string& text, const std::string& base_dir, const std::string& where);

// Reads a manifest. osp::Error naming the file when it cannot be read or has no samples, and
// "file:line" for a bad line.
Manifest read_manifest(const std::string& path);

// Writes lines (each a JSON object) to `path` atomically (temporary file, then rename).
void write_manifest(const std::string& path, const std::vector<nlohmann::ordered_json>& lines);

// `path` relative to `dir` when it lies below it (for manifest fields), else `path` unchanged.
std::string relative_to(const std::string& path, const std::string& dir);

}  // namespace osp::train
