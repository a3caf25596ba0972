#pragma once
// What an adapter file holds, counted for `osp info`: the library counts, the CLI only prints.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "osp/io/lora_file.h"

namespace osp::io {

struct LoraSummary {
  std::string format;
  int64_t modules = 0;                  // adapted linears (factors, deltas or both)
  std::map<int64_t, int64_t> ranks;     // rank -> modules with lora_A / lora_B of that rank
  std::map<double, int64_t> alphas;     // alpha -> modules with factors and that alpha
  int64_t modules_without_alpha = 0;    // modules with factors and no alpha (scale 1)
  std::vector<std::string> kinds;       // of lora_module_kind, in the order self_attn, cross_attn, ffn, embeddings, head
  int64_t diffs = 0;                    // modules with a weight delta
  int64_t bias_diffs = 0;               // modules with a bias delta
  int64_t parameters = 0;               // elements of every factor and delta
};

// "self_attn", "cross_attn", "ffn", "embeddings" (text / time embeddings and the time projection)
// or "head", for a canonical Wan linear.
std::string lora_module_kind(const std::string& module);

LoraSummary summarize_lora(const LoraFile& file);

}  // namespace osp::io
