#pragma once
// Tensor names of adapter files → (canonical Wan DiT linear, role), whatever trainer wrote them
// (docs/lora.md "Formats"). LibTorch-free: names only.
#include <optional>
#include <string>
#include <vector>

namespace osp::io {

// What one tensor of an adapter file holds for its module.
enum class LoraRole {
  kDown,      // lora_A / lora_down: [r, in]
  kUp,        // lora_B / lora_up: [out, r]
  kAlpha,     // the module's alpha (a scalar)
  kDiff,      // full weight delta [out, in]
  kDiffBias,  // bias delta [out]
};

// The spelling of a role in messages ("lora_A", "alpha", "diff_b", …).
const char* lora_role_name(LoraRole role);

struct LoraKey {
  std::string module;  // canonical Wan module, e.g. "blocks.3.self_attn.q"
  LoraRole role;
  std::string format;  // the format this spelling belongs to: "peft", "diffusers", "comfyui", "kohya"
};

// Maps one tensor name; nullopt when it is no adapter entry for a Wan DiT linear (an unknown role
// suffix, an unknown prefix or a module that is not one of the linears).
std::optional<LoraKey> parse_lora_key(const std::string& name);

// True for the canonical names of the Wan DiT linears that adapters may target:
// blocks.N.{self_attn,cross_attn}.{q,k,v,o}, blocks.N.ffn.{0,2}, text_embedding.{0,2},
// time_embedding.{0,2}, time_projection.1, head.head.
bool is_wan_linear(const std::string& module);

// The format of a whole file from the formats of its keys: kohya > peft > comfyui > diffusers (a
// file that mixes spellings reports the first of these it contains). Empty input gives "".
std::string combine_lora_formats(const std::vector<std::string>& key_formats);

}  // namespace osp::io
