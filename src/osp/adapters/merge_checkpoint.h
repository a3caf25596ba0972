#pragma once
// `osp merge-lora` (docs/lora.md "Merge"): a base DiT checkpoint streamed into one safetensors
// file with canonical Wan names, every adapted weight replaced by W + Σ scale·(B·A + D) and every
// adapted bias by b + Σ scale·d, computed in float32 and cast to the stored dtype. Every adapter
// is checked against the base's tensor shapes before the output is opened, so a bad adapter
// leaves nothing behind.
#include <functional>
#include <string>
#include <vector>

#include "osp/adapters/apply.h"

namespace osp::adapters {

struct MergeSummary {
  int64_t tensors = 0;          // written
  int64_t weights_merged = 0;   // weights that received at least one delta
  int64_t biases_merged = 0;
  std::string config_written;   // config.json copied beside the output ("" when not)
};

// Writes the merged checkpoint to `out` (a .safetensors path) and copies the base's config.json
// beside it when that folder has none, so that `osp generate --dit OUT` finds it. `on_tensor(done,
// total)` is called after each tensor (progress).
MergeSummary merge_checkpoint(const std::string& base, const std::vector<LoadedLora>& loras, const std::string& out,
                              const std::function<void(int64_t, int64_t)>& on_tensor = {});

}  // namespace osp::adapters
