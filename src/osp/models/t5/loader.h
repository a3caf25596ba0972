#pragma once
// Loading umT5 encoder weights (docs/text-encoder.md "Checkpoint keys"): the Wan `models_t5_umt5-xxl-enc-bf16.pth`
// state dict (canonical names) and HF/diffusers UMT5EncoderModel checkpoints (`text_encoder/`
// with safetensors, optionally sharded, and config.json).
#include <c10/core/Device.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "osp/core/precision.h"
#include "osp/io/tensor_source.h"
#include "osp/models/t5/config.h"
#include "osp/models/t5/encoder.h"

namespace osp::t5 {

// Canonical (Wan) name of a checkpoint key: Wan names as they are, HF UMT5 names translated
// (table of "Checkpoint keys"), training-wrapper prefixes ("module.", "_orig_mod.") stripped. nullopt
// for keys that are no encoder parameter (e.g. a decoder's).
std::optional<std::string> canonical_t5_key(const std::string& source_name);

struct T5KeyMapping {
  std::map<std::string, std::string> canonical_to_source;
  std::string layout;                   // "wan" or "hf"
  std::vector<std::string> unexpected;  // names that map to no encoder parameter
};
T5KeyMapping map_t5_keys(const std::vector<std::string>& source_names);

// The key mapping of `source` checked against `config` (every name and shape; errors name the file
// and tensors); unexpected tensors are logged as a warning.
T5KeyMapping checked_t5_mapping(const T5Config& config, const io::TensorSource& source);

// Assigns every weight of `encoder` from `source`, one tensor at a time straight into its final
// storage (converted to the encoder's weight dtype while copied out of the file: no second copy
// of the model). All names and shapes are checked first; errors name the file and tensors.
// Returns the key layout.
std::string load_t5_weights(T5Encoder& encoder, const io::TensorSource& source);

struct T5Paths {
  std::string weights;  // file, index or directory for io::open_tensor_source
  std::optional<std::string> config;  // HF config.json, when there is one
};

// Resolves what `--text-encoder PATH` names: a weights file; a directory holding one (a diffusers
// text_encoder/ folder), or a diffusers pipeline root (its text_encoder/), or a Wan checkpoint
// directory (its models_t5_umt5-xxl-enc-bf16.pth). `config_path` wins over a config.json found
// beside the weights; a config.json without T5 fields (e.g. a Wan DiT's) is not used.
T5Paths resolve_t5_paths(const std::string& path, const std::optional<std::string>& config_path);

// Resolves, reads the config (umt5-xxl when there is none), builds and loads the encoder.
// `stream_layers`: the weights stay in the mapped file and stream layer by layer (layer_streamer.h).
std::unique_ptr<T5Encoder> load_t5_encoder(const std::string& path, const std::optional<std::string>& config_path,
                                           Precision precision, c10::Device device = c10::kCPU,
                                           bool stream_layers = false);

// Identity of the weights behind `path` for the embedding cache: the resolved files' canonical
// paths, sizes and modification times (no hashing of gigabytes), as a printable string.
std::string encoder_file_identity(const std::string& path);

}  // namespace osp::t5
