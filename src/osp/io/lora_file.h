#pragma once
// Adapter files (LoRA and weight-delta files for Wan DiTs) read into one canonical form, whatever
// trainer wrote them (docs/lora.md "Formats"). The format is recognised from the tensor names
// alone:
//   peft       base_model.model.blocks.N.self_attn.q.lora_A[.default].weight / lora_B, safetensors or
//              a torch pickle (adapter_model.bin), with adapter_config.json beside it when present
//              (r, lora_alpha, target_modules)
//   diffusers  diffusion_model.blocks.N.….lora_A.weight / lora_B.weight, transformer.blocks.…, or
//              lora_down / lora_up with an optional per-module `.alpha` scalar (ComfyUI)
//   kohya      lora_unet_blocks_N_self_attn_q.lora_down.weight / .lora_up.weight / .alpha
// Any format may also carry `.diff` (a full weight delta, [out, in]) and `.diff_b` (a bias delta,
// [out]) entries; they are kept as additive deltas.
// Files are untrusted: every tensor goes through io::TensorSource (bounds-checked), and a key
// that maps to no Wan DiT linear, a module with only one of its two factors, a rank mismatch
// between the factors or a non-finite alpha is an osp::Error naming the key and the file.
#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace osp::io {

// One adapted linear of the DiT. `module` is the canonical Wan module name ("blocks.3.self_attn.q",
// "blocks.0.ffn.0", "text_embedding.0", "time_projection.1", "head.head"), so the weight it adapts
// is `module + ".weight"`.
struct LoraModule {
  std::string module;
  at::Tensor down;               // A [r, in] (float32); undefined when the module has only diffs
  at::Tensor up;                 // B [out, r] (float32); defined exactly when `down` is
  std::optional<double> alpha;   // per-module alpha, else adapter_config.json's lora_alpha, else unset
  at::Tensor diff;               // full weight delta [out, in] (float32) or undefined
  at::Tensor diff_b;             // bias delta [out] (float32) or undefined
  std::string source_key;        // one key of the file for this module (messages)

  int64_t rank() const { return down.defined() ? down.size(0) : 0; }
  // alpha / rank when alpha is set, else 1 (the scale before the user's scale).
  double scale() const;
};

struct LoraFile {
  std::string path;
  std::string format;             // "peft", "diffusers", "comfyui", "kohya"
  std::vector<LoraModule> modules;  // sorted by module name
  nlohmann::json adapter_config;  // adapter_config.json when one was found (else null)
};

// Reads an adapter file: a .safetensors file, a torch pickle (.bin/.pt/.pth, restricted
// unpickler), or a directory holding adapter_model.safetensors / adapter_model.bin and
// adapter_config.json. osp::Error on anything it cannot map completely (nothing is half-read).
LoraFile read_lora_file(const std::string& path);

// The format name a set of tensor names is in ("peft", "diffusers", "comfyui", "kohya"), or
// nullopt when the names are not an adapter file (`osp info` uses this to recognise one).
std::optional<std::string> detect_lora_format(const std::vector<std::string>& names);

// Writes `file` as OSP-Next / PEFT safetensors (`base_model.model.<module>.lora_A.weight`,
// `lora_B.weight`, `.diff`, `.diff_b`; float32) and, when `adapter_config` is an object, an
// adapter_config.json beside it (`<dir>/adapter_config.json`). Both atomically.
void write_lora_file(const std::string& path, const LoraFile& file);

}  // namespace osp::io
