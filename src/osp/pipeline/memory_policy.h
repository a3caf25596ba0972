#pragma once
// Where the DiT's weights live while it samples (docs/memory.md): resident (read once, kept in
// memory for the whole stage) or streamed block by block from the mapped checkpoint
// (dit/block_streamer.h), for models larger than memory.
#include <memory>
#include <optional>
#include <string>

#include "osp/core/precision.h"
#include "osp/models/dit/block_streamer.h"
#include "osp/models/dit/model.h"

namespace osp::pipeline {

// kAuto: the generation memory planner picks kNone or kBlocks per component for the budget
// (generation_memory_plan.h); it never reaches the loaders.
enum class Offload { kNone, kBlocks, kAuto };

// "none" | "blocks" | "auto"; osp::Error naming `flag` otherwise.
Offload parse_offload(const std::string& text, const std::string& flag = "--offload");
const char* offload_name(Offload offload);

// --vae-tile-size: a tile edge in pixels, 0 (whole frames) or "auto" (kAutoTile: the generation
// memory planner's choice for the budget); osp::Error naming `flag` otherwise.
inline constexpr int64_t kAutoTile = -1;
int64_t parse_vae_tile_size(const std::string& text, const std::string& flag = "--vae-tile-size");

// Whether the two guidance branches run as one batch-2 forward (dit_velocity.h
// batched_guided_dit_velocity): kAuto does so when the DiT's blocks stream, halving what they read.
enum class CfgBatch { kAuto, kOn, kOff };
// "auto" | "on" | "off"; osp::Error naming `flag` otherwise.
CfgBatch parse_cfg_batch(const std::string& text, const std::string& flag = "--cfg-batch");
bool batches_guidance(CfgBatch choice, Offload offload);

// Block streaming runs in one process, on the CPU or a CUDA device (whose blocks cross the bus on a
// side stream): osp::Error naming --offload for another device or under a launcher
// (`distributed`), before anything is loaded.
void check_offload(Offload offload, c10::Device device, bool distributed);

// The DiT of one sampling stage, with its streamer when its blocks stream.
struct SamplingDiT {
  std::unique_ptr<dit::WanDiT> model;
  std::unique_ptr<dit::BlockStreamer> streamer;  // set: Offload::kBlocks
  // "block streaming: 40 blocks read (27.3 GiB), reading 81.2 s, waiting 3.1 s" (empty when resident).
  std::string describe_streaming(double sampling_seconds) const;
};

struct DiTLoadOptions {
  Precision precision{PrecisionMode::kBf16};
  c10::Device device = c10::kCPU;
  std::string quant;  // --quant
  Offload offload = Offload::kNone;
  std::string streaming_cache;  // directory of the streaming cache (streaming_cache.h); empty: none
};

// Loads the DiT of `weights` / `config` resident, or builds it with empty blocks and a streamer
// (check_offload first).
SamplingDiT load_sampling_dit(const std::string& weights, const std::optional<std::string>& config,
                              const DiTLoadOptions& options);

}  // namespace osp::pipeline
