#pragma once
// A model bundle: where the four components of a text-to-video model live (DiT, text encoder,
// tokenizer, VAE), plus the generation defaults a bundle may carry (the shipped tiny model's
// config). Resolved from a directory, from explicit component paths (`--dit`, `--text-encoder`,
// `--tokenizer`, `--vae`, each with an optional `--*-config`), or both (explicit paths win).
//
// Directory layouts, tried in this order:
//  1. OSP bundle: config.json naming the components (format below);
//  2. Wan 2.1 release: config.json of the DiT (`_class_name` WanModel / WanTransformer3DModel)
//     beside the DiT weights, models_t5_umt5-xxl-enc-bf16.pth, Wan2.1_VAE.pth, google/umt5-xxl/;
//  3. diffusers: model_index.json with transformer/, text_encoder/, tokenizer/, vae/.
//
// OSP bundle config.json (paths relative to the bundle directory; keys starting with "_" are
// comments and ignored; any other unknown key is an error):
//   {
//     "dit":          "dit.safetensors"  or  {"path": "dit", "config": "dit/config.json"},
//     "text_encoder": ..., "tokenizer": ..., "vae": ...,     (same two forms)
//     "defaults": {"width": 256, "height": 256, "frames": 17, "steps": 20, "shift": 5.0,
//                  "guidance": 5.0, "sampler": "unipc", "fps": 16}           (all optional)
//   }
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "osp/pipeline/generation_params.h"

namespace osp::pipeline {

struct ComponentRef {
  std::string path;                   // empty: not given
  std::optional<std::string> config;  // unset: the component's loader finds its own config
};

// Generation defaults a bundle may set; unset fields keep the model's defaults.
struct BundleDefaults {
  std::optional<int64_t> width, height, frames, steps, fps;
  std::optional<double> shift, guidance;
  std::optional<std::string> sampler;
  std::optional<std::string> negative_prompt;  // "" allowed: the empty caption
};

struct ModelBundle {
  std::string root;    // the bundle directory, empty when built from explicit paths only
  std::string layout;  // "osp bundle", "wan release", "diffusers" or "explicit paths"
  ComponentRef dit, text_encoder, tokenizer, vae;
  BundleDefaults defaults;
};

// Explicit component paths (CLI flags); set fields replace the bundle's.
struct ComponentOverrides {
  std::optional<std::string> dit, dit_config;
  std::optional<std::string> text_encoder, text_encoder_config;
  std::optional<std::string> tokenizer, tokenizer_config;
  std::optional<std::string> vae, vae_config;
};

// The component names in config.json order: "dit", "text_encoder", "tokenizer", "vae".
const std::vector<std::string>& component_names();

// Parses an OSP bundle config (already read as JSON). Relative paths are resolved against `root`;
// `source` names the file in errors. Throws osp::Error for unknown keys, wrong types and invalid
// defaults. Components may be absent here (resolve_bundle reports them).
ModelBundle parse_bundle_config(const nlohmann::json& config, const std::string& root, const std::string& source);

// Resolves the bundle in `directory` (if given) and applies `overrides`. Throws osp::Error naming
// every missing component and its flag, or a component path that does not exist.
ModelBundle resolve_bundle(const std::optional<std::string>& directory, const ComponentOverrides& overrides = {});

// `base` with every field that `overrides` sets replaced (a bundle's defaults, or the command line's).
GenerationParams overlay(GenerationParams base, const BundleDefaults& overrides);

// `base` (the Wan 2.1 defaults of docs/sampling.md "Wan 2.1 defaults" unless given) overlaid with the bundle's.
GenerationParams generation_defaults(const ModelBundle& bundle, GenerationParams base = {});

}  // namespace osp::pipeline
