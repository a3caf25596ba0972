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
#include "osp/io/key_names.h"
#include "osp/io/load_report.h"
#include "osp/io/tensor_source.h"
#include "osp/models/t5/config.h"
#include "osp/models/t5/encoder.h"

namespace osp::t5 {

// The key mapping of `source` checked against `config` (every name and shape; errors name the file
// and tensors); unexpected tensors are logged as a warning.
io::KeyMapping checked_t5_mapping(const T5Config& config, const io::TensorSource& source);

// Assigns every weight of `encoder` from `source`, one tensor at a time straight into its final
// storage (converted to the encoder's weight dtype while copied out of the file: no second copy
// of the model). All names and shapes are checked first; errors name the file and tensors.
io::LoadReport load_t5_weights(T5Encoder& encoder, const io::TensorSource& source);

// Resolves what `--text-encoder PATH` names: a weights file; a directory holding one (a diffusers
// text_encoder/ folder), or a diffusers pipeline root (its text_encoder/), or a Wan checkpoint
// directory (its models_t5_umt5-xxl-enc-bf16.pth). `config_path` wins over a config.json found
// beside the weights; a config.json without T5 fields (e.g. a Wan DiT's) is not used.
io::ComponentFiles resolve_t5_paths(const std::string& path, const std::optional<std::string>& config_path);

// The config `files` name, or umt5-xxl's when they name none.
T5Config read_t5_config(const io::ComponentFiles& files);

// Resolves, reads the config (umt5-xxl when there is none), builds and loads the encoder.
// `stream_layers`: the weights stay in the mapped file and stream layer by layer (layer_streamer.h).
std::unique_ptr<T5Encoder> load_t5_encoder(const std::string& path, const std::optional<std::string>& config_path,
                                           Precision precision, c10::Device device = c10::kCPU,
                                           bool stream_layers = false);

// Identity of the weights behind `path` for the embedding cache: the resolved files' canonical
// paths, sizes and modification times (no hashing of gigabytes), as a printable string.
std::string encoder_file_identity(const std::string& path);

}  // namespace osp::t5
