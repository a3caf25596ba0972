#pragma once
// Loading Wan VAE weights (docs/vae.md "Checkpoint keys", "Diffusers names"): the original Wan2.1_VAE.pth, or a diffusers
// AutoencoderKLWan vae/ folder (config.json + safetensors) whose names map to the original ones.
#include <c10/core/Device.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "osp/io/load_report.h"
#include "osp/io/tensor_source.h"
#include "osp/models/vae/config.h"
#include "osp/models/vae/model.h"

namespace osp::vae {

// Copies every parameter of `model` from `source` (converted to float32). Missing tensors and
// shape mismatches throw osp::Error naming the file, the tensors (up to 10) and their shapes.
io::LoadReport load_weights(WanVAE& model, const io::TensorSource& source);

// `path`: Wan2.1_VAE.pth (or any weights file), a diffusers vae/ folder, a diffusers pipeline
// folder (uses vae/), or a Wan release folder holding Wan2.1_VAE.pth. The config is `config_path`
// when given, else the AutoencoderKLWan config.json of a diffusers folder, else none (Wan 2.1).
io::ComponentFiles resolve_vae_paths(const std::string& path, const std::optional<std::string>& config_path);

// The config `files` name, or Wan 2.1's when they name none.
VaeConfig read_vae_config(const io::ComponentFiles& files);

// Resolves, reads the config, builds the model and loads it (logs what it loaded).
std::unique_ptr<WanVAE> load_vae(const std::string& path, const std::optional<std::string>& config_path,
                                 c10::Device device = c10::kCPU);

}  // namespace osp::vae
