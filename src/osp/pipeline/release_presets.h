#pragma once
// `osp init-bundle --preset NAME`: a model directory with random weights but the real shapes and
// the released file layouts (docs/memory.md "Release presets"), written streamed: one tensor in
// memory at a time, so a 14B model is written on a machine that could never hold it. With them the
// full-size models run end to end here (block streaming, 8-bit weights, the memory plan) without
// a download.
//
//   wan-1.3b, wan-14b   Wan 2.1 release: config.json + diffusion_pytorch_model.safetensors
//   osp-next-14b        OSP-Next release: config.json (+ Skiparse fields) + model.pt, the FSDP
//                       full state dict {"model": {"_fsdp_wrapped_module.<name>": …}, "step", "lr"}
//   all three           models_t5_umt5-xxl-enc-bf16.pth (umT5-XXL encoder, Wan names, bf16),
//                       Wan2.1_VAE.pth (float32), google/umt5-xxl/spiece.model (a small trained
//                       SentencePiece model with umT5's special ids: the weights are random anyway)
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "osp/pipeline/tiny_bundle.h"

namespace osp::pipeline {

struct ReleasePresetOptions {
  std::string preset;
  uint64_t seed = 0;
  bool overwrite = false;
  // Reductions for tests (0: the preset's value): DiT blocks, umT5 layers, umT5 vocabulary.
  int64_t dit_layers = 0;
  int64_t text_layers = 0;
  int64_t text_vocab = 0;
  std::optional<dit::DiTConfig> dit_shapes;  // tests: another DiT, written in the preset's layout
};

std::vector<std::string> release_preset_names();

// The preset's DiT config (with the reductions applied). osp::Error naming --preset for an unknown name.
dit::DiTConfig release_preset_dit(const ReleasePresetOptions& options);

// Writes the preset into `dir` (created when missing; a non-empty directory needs `overwrite`),
// every file atomically, config.json last. Returns the files written.
std::vector<WrittenFile> write_release_preset(const std::string& dir, const ReleasePresetOptions& options);

}  // namespace osp::pipeline
