#pragma once
// Key names of umT5 encoder checkpoints (docs/text-encoder.md "Checkpoint keys"): the Wan
// models_t5_umt5-xxl-enc-bf16.pth names are canonical; HF / diffusers UMT5EncoderModel names map
// onto them.
#include <optional>
#include <string>
#include <vector>

#include "osp/io/key_names.h"

namespace osp::io {

// Canonical (Wan) name of a checkpoint key: Wan names as they are, HF UMT5 names translated
// (table of "Checkpoint keys"), training-wrapper prefixes ("module.", "_orig_mod.") stripped. nullopt
// for keys that are no encoder parameter (e.g. a decoder's).
std::optional<std::string> canonical_t5_key(const std::string& source_name);

// A whole file's names: layout "wan" or "hf", names that map to nothing listed as unexpected;
// HF ties shared.weight and encoder.embed_tokens.weight, and the first one seen wins.
KeyMapping map_t5_keys(const std::vector<std::string>& source_names);

}  // namespace osp::io
