#include "osp/pipeline/memory_policy.h"

#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/io/tensor_source.h"
#include "osp/models/dit/loader.h"
#include "osp/models/dit/quantization.h"
#include "osp/pipeline/streaming_cache.h"

namespace osp::pipeline {

Offload parse_offload(const std::string& text, const std::string& flag) {
  if (text == "none") return Offload::kNone;
  if (text == "blocks") return Offload::kBlocks;
  if (text == "auto") return Offload::kAuto;
  fail_about(flag, "expected none, blocks or auto, got '{}'", text);
}

const char* offload_name(Offload offload) {
  switch (offload) {
    case Offload::kBlocks: return "blocks";
    case Offload::kAuto: return "auto";
    case Offload::kNone: break;
  }
  return "none";
}

int64_t parse_vae_tile_size(const std::string& text, const std::string& flag) {
  if (text == "auto") return kAutoTile;
  try {
    size_t used = 0;
    const int64_t value = std::stoll(text, &used);
    if (used == text.size() && value >= 0) return value;
  } catch (const std::exception&) {
  }
  fail_about(flag, "expected a tile edge in pixels, 0 (whole frames) or auto, got '{}'", text);
}

CfgBatch parse_cfg_batch(const std::string& text, const std::string& flag) {
  if (text == "auto") return CfgBatch::kAuto;
  if (text == "on") return CfgBatch::kOn;
  if (text == "off") return CfgBatch::kOff;
  fail_about(flag, "expected auto, on or off, got '{}'", text);
}

bool batches_guidance(CfgBatch choice, Offload offload) {
  return choice == CfgBatch::kOn || (choice == CfgBatch::kAuto && offload == Offload::kBlocks);
}

void check_offload(Offload offload, c10::Device device, bool distributed) {
  if (offload != Offload::kBlocks) return;
  if (!device.is_cpu() && !device.is_cuda()) {
    fail_about("--offload", "block streaming runs on the CPU and on CUDA devices; use --offload none on {}",
               device.str());
  }
  if (distributed) {
    fail_about("--offload", "block streaming runs in one process; under a launcher, --shard-weights splits the "
               "blocks between the ranks instead");
  }
}

std::string SamplingDiT::describe_streaming(double sampling_seconds) const {
  if (!streamer) return "";
  const io::StreamStats& s = streamer->stats();
  const double gib = static_cast<double>(s.bytes_read) / (1024.0 * 1024.0 * 1024.0);
  return fmt::format("block streaming: {} blocks read ({:.2f} GiB, {:.0f} MiB/s while reading), reading {:.2f} s, "
                     "the forward waited {:.2f} s ({:.0f} % of sampling)",
                     s.groups_read, gib, s.read_seconds > 0 ? gib * 1024.0 / s.read_seconds : 0.0, s.read_seconds,
                     s.wait_seconds, sampling_seconds > 0 ? 100.0 * s.wait_seconds / sampling_seconds : 0.0);
}

SamplingDiT load_sampling_dit(const std::string& weights, const std::optional<std::string>& config,
                              const DiTLoadOptions& options) {
  SamplingDiT out;
  if (options.offload == Offload::kNone) {
    out.model = dit::load_dit(weights, config, options.precision, options.device,
                              dit::quant_flag_override(options.quant));
    return out;
  }
  check_offload(options.offload, options.device, /*distributed=*/false);
  dit::UnloadedDiT unloaded = dit::build_unloaded_dit(weights, config, options.precision, options.device,
                                                      dit::quant_flag_override(options.quant));
  out.model = std::move(unloaded.model);
  const std::string source = streaming_source(unloaded.weights, *out.model, options.streaming_cache);
  out.streamer = std::make_unique<dit::BlockStreamer>(*out.model, io::open_tensor_source(source));
  log::info("DiT {}: blocks stream from {} ({} weights, largest block {:.1f} MiB), the rest resident",
            out.model->config().arch_name(), source, out.streamer->report().weights,
            static_cast<double>(out.streamer->largest_block_bytes()) / (1024.0 * 1024.0));
  return out;
}

}  // namespace osp::pipeline
