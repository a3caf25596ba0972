// Key-name variants of Wan DiT checkpoints → canonical (original Wan) names, docs/dit.md "Checkpoint keys", "Key-name variants".
#include "osp/io/key_names.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <string_view>

namespace osp::io {
namespace {

// Leading wrappers, stripped repeatedly in any order (e.g. `module._orig_mod.` or
// `model.diffusion_model.`). Canonical names never start with "model.", so stripping it is safe.
constexpr std::string_view kComfyPrefix = "model.diffusion_model.";
constexpr std::string_view kPrefixes[] = {kComfyPrefix, "module.", "_orig_mod.", "_fsdp_wrapped_module.",
                                          "_checkpoint_wrapped_module.", "diffusion_model.", "model."};
// Wrapper modules that FSDP / activation checkpointing / torch.compile insert around inner
// modules, leaving a path component anywhere in the name (`blocks.0._fsdp_wrapped_module.ffn.0`).
constexpr std::string_view kWrapperComponents[] = {"_fsdp_wrapped_module.", "_checkpoint_wrapped_module.", "_orig_mod."};

// diffusers → original. A `from` ending in '.' renames a module prefix; otherwise the whole
// (remaining) name must match (parameters held directly, like scale_shift_table).
struct Rename {
  std::string_view from;
  std::string_view to;
};

constexpr Rename kGlobalRenames[] = {
    {"condition_embedder.time_embedder.linear_1.", "time_embedding.0."},
    {"condition_embedder.time_embedder.linear_2.", "time_embedding.2."},
    {"condition_embedder.time_proj.", "time_projection.1."},
    {"condition_embedder.text_embedder.linear_1.", "text_embedding.0."},
    {"condition_embedder.text_embedder.linear_2.", "text_embedding.2."},
    {"scale_shift_table", "head.modulation"},
    {"proj_out.", "head.head."},
};

// Within `blocks.N.`. diffusers swaps the names of the two later norms: its affine `norm2` (before
// cross-attention) is the original `norm3`; the original `norm2` (before the FFN) has no tensors,
// so a file with `norm2` tensors is always diffusers and the rename is unconditional.
constexpr Rename kBlockRenames[] = {
    {"scale_shift_table", "modulation"},
    {"attn1.to_q.", "self_attn.q."},         {"attn1.to_k.", "self_attn.k."},
    {"attn1.to_v.", "self_attn.v."},         {"attn1.to_out.0.", "self_attn.o."},
    {"attn1.norm_q.", "self_attn.norm_q."},  {"attn1.norm_k.", "self_attn.norm_k."},
    {"attn2.to_q.", "cross_attn.q."},        {"attn2.to_k.", "cross_attn.k."},
    {"attn2.to_v.", "cross_attn.v."},        {"attn2.to_out.0.", "cross_attn.o."},
    {"attn2.norm_q.", "cross_attn.norm_q."}, {"attn2.norm_k.", "cross_attn.norm_k."},
    {"norm2.", "norm3."},
    {"ffn.net.0.proj.", "ffn.0."},           {"ffn.net.2.", "ffn.2."},
};

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// Strips leading wrapper prefixes; records the ones seen in `stripped` (when given).
std::string strip_prefixes(std::string name, std::set<std::string>* stripped) {
  for (bool again = true; again;) {
    again = false;
    for (std::string_view prefix : kPrefixes) {
      if (!starts_with(name, prefix)) continue;
      if (stripped) stripped->emplace(prefix);
      name.erase(0, prefix.size());
      again = true;
      break;
    }
  }
  return name;
}

std::string remove_wrapper_components(std::string name, std::set<std::string>* stripped) {
  for (std::string_view wrapper : kWrapperComponents) {
    const std::string infix = "." + std::string(wrapper);
    for (size_t at; (at = name.find(infix)) != std::string::npos;) {
      if (stripped) stripped->emplace(wrapper);
      name.erase(at + 1, wrapper.size());
    }
  }
  return name;
}

// Applies the first matching rename to `rest`; false when none matches.
template <size_t N>
bool rename(std::string& rest, const Rename (&rules)[N]) {
  for (const Rename& r : rules) {
    const bool prefix_rule = r.from.back() == '.';
    if (prefix_rule ? starts_with(rest, r.from) : rest == r.from) {
      rest = std::string(r.to) + rest.substr(r.from.size());
      return true;
    }
  }
  return false;
}

// Length of "blocks.N." at the start of `name`, or 0.
size_t block_prefix_length(std::string_view name) {
  constexpr std::string_view kBlocks = "blocks.";
  if (!starts_with(name, kBlocks)) return 0;
  size_t i = kBlocks.size();
  while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i]))) ++i;
  return i > kBlocks.size() && i < name.size() && name[i] == '.' ? i + 1 : 0;
}

// diffusers names → original names; sets `*translated` when a rename applied.
std::string translate_diffusers(std::string name, bool* translated) {
  const size_t block = block_prefix_length(name);
  std::string rest = name.substr(block);
  const bool renamed = block ? rename(rest, kBlockRenames) : rename(rest, kGlobalRenames);
  if (translated) *translated = renamed;
  return name.substr(0, block) + rest;
}

std::string canonical(const std::string& source, std::set<std::string>* stripped, bool* translated) {
  return translate_diffusers(remove_wrapper_components(strip_prefixes(source, stripped), stripped), translated);
}

}  // namespace

std::string canonical_dit_key(const std::string& source_name) { return canonical(source_name, nullptr, nullptr); }

KeyMapping map_dit_keys(const std::vector<std::string>& source_names) {
  KeyMapping mapping;
  std::set<std::string> stripped;
  bool diffusers = false;
  for (const std::string& source : source_names) {
    bool translated = false;
    std::string name = canonical(source, &stripped, &translated);
    diffusers = diffusers || translated;
    if (!mapping.canonical_to_source.emplace(std::move(name), source).second) mapping.duplicates.push_back(source);
  }
  const bool comfy = stripped.erase(std::string(kComfyPrefix)) > 0;
  mapping.layout = diffusers ? "diffusers" : comfy ? "comfyui" : "wan";
  for (const std::string& prefix : stripped) mapping.layout += "+" + prefix;
  return mapping;
}

int64_t block_number(const std::string& canonical_name) {
  const std::string prefix = "blocks.";
  if (canonical_name.compare(0, prefix.size(), prefix) != 0) return -1;
  return std::stoll(canonical_name.substr(prefix.size(), canonical_name.find('.', prefix.size()) - prefix.size()));
}

}  // namespace osp::io
