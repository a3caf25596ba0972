// Adapter tensor names → canonical Wan DiT linears (docs/lora.md "Formats").
#include "osp/io/lora_keys.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

#include "osp/io/key_names.h"

namespace osp::io {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }
bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// How a file spells the two factors: PEFT / diffusers `lora_A`/`lora_B`, or kohya / ComfyUI
// `lora_down`/`lora_up`. Part of the format rule (docs/lora.md).
enum class FactorSpelling { kNone, kAB, kDownUp };

struct RoleSuffix {
  std::string_view suffix;
  LoraRole role;
  FactorSpelling spelling;
};

// PEFT saves `.lora_A.weight`; a state dict taken from a live PEFT model has the adapter name
// (`.lora_A.default.weight`).
constexpr RoleSuffix kRoleSuffixes[] = {
    {".lora_A.default.weight", LoraRole::kDown, FactorSpelling::kAB},
    {".lora_B.default.weight", LoraRole::kUp, FactorSpelling::kAB},
    {".lora_A.weight", LoraRole::kDown, FactorSpelling::kAB},
    {".lora_B.weight", LoraRole::kUp, FactorSpelling::kAB},
    {".lora_down.weight", LoraRole::kDown, FactorSpelling::kDownUp},
    {".lora_up.weight", LoraRole::kUp, FactorSpelling::kDownUp},
    {".alpha", LoraRole::kAlpha, FactorSpelling::kNone},
    {".diff_b", LoraRole::kDiffBias, FactorSpelling::kNone},
    {".diff", LoraRole::kDiff, FactorSpelling::kNone},
};

// Leading parts of module paths, longest first where one contains another.
enum class Prefix { kPeft, kKohya, kComfy, kDiffusers, kBare };
struct PrefixSpelling {
  std::string_view text;
  Prefix prefix;
};
constexpr PrefixSpelling kPrefixSpellings[] = {
    {"base_model.model.", Prefix::kPeft},        {"lora_unet_", Prefix::kKohya},
    {"model.diffusion_model.", Prefix::kComfy},  {"diffusion_model.", Prefix::kComfy},
    {"transformer.", Prefix::kDiffusers},
};

// The linears every block has, and those outside the blocks (the official Wan state dict's names).
constexpr std::string_view kBlockLinears[] = {"self_attn.q",  "self_attn.k",  "self_attn.v",  "self_attn.o",
                                              "cross_attn.q", "cross_attn.k", "cross_attn.v", "cross_attn.o",
                                              "ffn.0",        "ffn.2"};
constexpr std::string_view kGlobalLinears[] = {"text_embedding.0", "text_embedding.2", "time_embedding.0",
                                               "time_embedding.2", "time_projection.1", "head.head"};
constexpr std::string_view kBlocks = "blocks.";

// Length of the run of digits at `at` in `s`.
size_t digits_at(std::string_view s, size_t at) {
  size_t end = at;
  while (end < s.size() && std::isdigit(static_cast<unsigned char>(s[end]))) ++end;
  return end - at;
}

// The format a key's spelling belongs to (docs/lora.md "Formats": which format a file reports).
std::string format_of(Prefix prefix, FactorSpelling spelling) {
  switch (prefix) {
    case Prefix::kKohya: return "kohya";
    case Prefix::kPeft: return "peft";
    case Prefix::kComfy: return "comfyui";
    case Prefix::kDiffusers: return spelling == FactorSpelling::kDownUp ? "comfyui" : "diffusers";
    case Prefix::kBare: break;
  }
  // Bare module names: DiffSynth-Studio-style PEFT state dicts, or ComfyUI's when down/up.
  return spelling == FactorSpelling::kDownUp ? "comfyui" : "peft";
}

std::string kohya_spelling(std::string name) {
  std::replace(name.begin(), name.end(), '.', '_');
  return name;
}

// kohya joins the module path with '_', which is ambiguous next to names holding '_' (self_attn,
// time_projection): the stem is matched against the kohya spelling of every linear it could be.
std::optional<std::string> kohya_module(std::string_view stem) {
  constexpr std::string_view kKohyaBlocks = "blocks_";
  std::vector<std::string> candidates(std::begin(kGlobalLinears), std::end(kGlobalLinears));
  if (starts_with(stem, kKohyaBlocks)) {
    const std::string index(stem.substr(kKohyaBlocks.size(), digits_at(stem, kKohyaBlocks.size())));
    for (std::string_view linear : kBlockLinears) candidates.push_back(std::string(kBlocks) + index + "." + std::string(linear));
  }
  for (const std::string& candidate : candidates) {
    if (kohya_spelling(candidate) == stem) return candidate;
  }
  return std::nullopt;
}

// Canonical name of a dotted module path: the checkpoint renames (diffusers, wrappers) apply to
// modules exactly as to their weights.
std::string dotted_module(const std::string& path) {
  constexpr std::string_view kWeight = ".weight";
  const std::string canonical = canonical_dit_key(path + std::string(kWeight));
  return ends_with(canonical, kWeight) ? canonical.substr(0, canonical.size() - kWeight.size()) : std::string();
}

}  // namespace

const char* lora_role_name(LoraRole role) {
  switch (role) {
    case LoraRole::kDown: return "lora_A";
    case LoraRole::kUp: return "lora_B";
    case LoraRole::kAlpha: return "alpha";
    case LoraRole::kDiff: return "diff";
    case LoraRole::kDiffBias: return "diff_b";
  }
  return "?";
}

bool is_wan_linear(const std::string& module) {
  const std::string_view name = module;
  if (std::find(std::begin(kGlobalLinears), std::end(kGlobalLinears), name) != std::end(kGlobalLinears)) return true;
  if (!starts_with(name, kBlocks)) return false;
  const size_t digits = digits_at(name, kBlocks.size());
  // No leading zeros: "blocks.01" and "blocks.1" would otherwise be two spellings of one module.
  if (digits == 0 || (digits > 1 && name[kBlocks.size()] == '0')) return false;
  const size_t rest = kBlocks.size() + digits;
  if (rest >= name.size() || name[rest] != '.') return false;
  const std::string_view linear = name.substr(rest + 1);
  return std::find(std::begin(kBlockLinears), std::end(kBlockLinears), linear) != std::end(kBlockLinears);
}

std::optional<LoraKey> parse_lora_key(const std::string& name) {
  const auto suffix = std::find_if(std::begin(kRoleSuffixes), std::end(kRoleSuffixes),
                                   [&](const RoleSuffix& s) { return ends_with(name, s.suffix); });
  if (suffix == std::end(kRoleSuffixes)) return std::nullopt;
  std::string_view path = std::string_view(name).substr(0, name.size() - suffix->suffix.size());
  Prefix prefix = Prefix::kBare;
  for (const PrefixSpelling& p : kPrefixSpellings) {
    if (!starts_with(path, p.text)) continue;
    prefix = p.prefix;
    path.remove_prefix(p.text.size());
    break;
  }
  const std::optional<std::string> module =
      prefix == Prefix::kKohya ? kohya_module(path) : std::optional<std::string>(dotted_module(std::string(path)));
  if (!module || !is_wan_linear(*module)) return std::nullopt;
  return LoraKey{*module, suffix->role, format_of(prefix, suffix->spelling)};
}

std::string combine_lora_formats(const std::vector<std::string>& key_formats) {
  for (const char* format : {"kohya", "peft", "comfyui", "diffusers"}) {
    if (std::find(key_formats.begin(), key_formats.end(), format) != key_formats.end()) return format;
  }
  return "";
}

}  // namespace osp::io
