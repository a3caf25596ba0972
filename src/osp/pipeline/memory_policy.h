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

enum class Offload { kNone, kBlocks };

// "none" | "blocks"; osp::Error naming `flag` otherwise.
Offload parse_offload(const std::string& text, const std::string& flag = "--offload");
const char* offload_name(Offload offload);

// Block streaming runs on the CPU in one process for now: osp::Error naming --offload for another
// device or under a launcher (`distributed`), before anything is loaded.
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
};

// Loads the DiT of `weights` / `config` resident, or builds it with empty blocks and a streamer
// (check_offload first).
SamplingDiT load_sampling_dit(const std::string& weights, const std::optional<std::string>& config,
                              const DiTLoadOptions& options);

}  // namespace osp::pipeline
