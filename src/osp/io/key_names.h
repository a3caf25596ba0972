#pragma once
// Key-name variants of Wan DiT checkpoints mapped to the canonical (original Wan) names
// (docs/dit.md "Checkpoint keys", "Key-name variants"): diffusers WanTransformer3DModel names (with the norm2/norm3 swap),
// the ComfyUI prefix `model.diffusion_model.`, and training wrappers (`module.`, `_orig_mod.`,
// FSDP `_fsdp_wrapped_module.`, a leading `model.`).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace osp::io {

struct KeyMapping {
  std::map<std::string, std::string> canonical_to_source;  // canonical name -> name in the file
  std::string layout;  // "wan", "diffusers", "comfyui", with "+prefix" notes, for messages and `osp info`
  std::vector<std::string> duplicates;  // source names that mapped onto an already-taken canonical name
  // Source names that are no parameter of the component (umT5: a decoder's tensors). The DiT's
  // mapping leaves it empty: which names are unexpected is decided against the model.
  std::vector<std::string> unexpected;
};

// Canonical name of one source key (prefixes stripped, diffusers names translated).
std::string canonical_dit_key(const std::string& source_name);

// The block (DiT) or layer (umT5) a canonical name belongs to: "blocks.12.ffn.0.weight" → 12; −1
// for names outside the numbered blocks.
int64_t block_number(const std::string& canonical_name);

// Maps a whole file's names; detects the layout from the names it sees.
KeyMapping map_dit_keys(const std::vector<std::string>& source_names);

}  // namespace osp::io
