#pragma once
// What a checkpoint holds as a Wan / OSP-Next DiT, for `osp info`: architecture, config, block
// schedule, and the canonical keys missing, unexpected or of the wrong shape.
#include <optional>
#include <string>
#include <vector>

#include "osp/io/tensor_source.h"

namespace osp::dit {

struct CheckpointReport {
  std::string layout;          // key layout ("wan", "diffusers", "comfyui", …)
  std::string architecture;    // "Wan2.1 1.3B", "OSP-Next 14B", "tiny (…)"
  std::string config_origin;   // the config file used, or "from tensor shapes"
  std::string config_summary;  // "dim 1536, ffn 8960, heads 12x128, layers 30, …"
  std::string block_schedule;  // dit::describe_schedule
  std::string weights;         // "dense" or the 8-bit formats (quant::QuantizedTensors::describe)
  std::vector<std::string> missing;
  std::vector<std::string> unexpected;
  std::vector<std::string> mismatched;  // "name: expected [..], got [..]"
};

// nullopt when the source holds no Wan DiT keys. The config is `config_path`, else the one found
// beside the weights (dit::find_config), else the dimensions read from the shapes.
std::optional<CheckpointReport> inspect_checkpoint(const io::TensorSource& source, const std::string& path,
                                                   const std::optional<std::string>& config_path);

}  // namespace osp::dit
