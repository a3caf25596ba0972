#pragma once
// Adapters for a generation (docs/lora.md "Inference"): the files of `--lora FILE[:SCALE]` read,
// identified by content hash, checked against the model all together, then merged into the
// weights or attached for runtime use. Layers with 8-bit weights always take the runtime path.
#include <torch/nn/module.h>

#include <string>
#include <vector>

#include "osp/adapters/adapter.h"
#include "osp/adapters/lora_spec.h"

namespace osp::adapters {

struct LoadedLora {
  LoraSpec spec;
  std::string file;    // the adapter file actually read
  std::string format;  // io::LoraFile::format
  std::string sha256;  // of `file`
  Adapter adapter;
};

// The adapter file a path names: a file as it is; a folder with adapter_model.safetensors / .bin;
// a training or RL checkpoint folder (model.safetensors + adapter_config.json) — its live adapter,
// or with `ema` its EMA adapter (ema.safetensors); an output folder — its newest checkpoint.
// osp::Error when none is found, or when `ema` is asked of something that has no EMA adapter.
std::string resolve_adapter_file(const std::string& path, bool ema = false);

// Reads every spec (osp::Error naming the file on the first bad one).
std::vector<LoadedLora> load_loras(const std::vector<LoraSpec>& specs, bool ema = false);

// Checks every adapter against `model` before touching it, then merges or attaches them in order.
// Returns the mode actually used (runtime when a layer holds 8-bit weights and merged was asked).
LoraMode apply_loras(torch::nn::Module& model, std::vector<LoadedLora>& loras, LoraMode mode);

// "name.safetensors (sha256 0123abcd…, scale 0.8); …": the generation metadata's "loras" value.
std::string describe_loras(const std::vector<LoadedLora>& loras);

}  // namespace osp::adapters
