#pragma once
// What the three model loaders (DiT, umT5, VAE) share (docs/design.md "Loading a component"): the
// files a user's path resolves to, and the report of loading a checkpoint into a module. Each
// loader runs the same steps — resolve the path to files, read the config, build the module, map
// the file's key names to canonical ones (io/key_names.h, io/t5_keys.h, io/vae_keys.h), check
// every name and shape, then copy one tensor at a time — and returns a LoadReport.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace osp::io {

// A component's files: the weights (file, shard index or directory for open_tensor_source) and
// its config.json; nullopt where the component has built-in defaults and none was found (the
// VAE: Wan 2.1's; umT5: umt5-xxl's).
struct ComponentFiles {
  std::string weights;
  std::optional<std::string> config;
};

struct ShapeMismatch {
  std::string name;  // canonical name
  std::vector<int64_t> expected;
  std::vector<int64_t> got;
};

struct LoadReport {
  std::vector<std::string> missing;     // canonical names absent from the source
  std::vector<std::string> unexpected;  // source names that map to no parameter (warned, not fatal)
  std::vector<ShapeMismatch> mismatched;
  std::string layout;  // key layout: "wan", "diffusers", "comfyui", "hf", … with "+prefix" notes
  int64_t loaded = 0;  // tensors copied into the module
  std::string weights = "dense";  // or the 8-bit formats held (quant::QuantizedTensors::describe)
};

// The names an error or warning lists: the first 10, then "(and N more)": "a, b, c (and 7 more)".
std::string listed_names(const std::vector<std::string>& names);

}  // namespace osp::io
