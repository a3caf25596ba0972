#pragma once
// `osp bench generate`: the whole text-to-video pipeline on random-weights bundles —
// the tiny bundle of `osp init-bundle` and a 1.3B-width DiT with a few layers (Wan 2.1 VAE
// architecture, a narrow umT5 of the 1.3B model's text width) — with per-stage times and peak
// RSS, and the saving of the cross-attention key/value cache: each generation runs once with
// the keys/values reused across steps and once recomputing them (same-run baseline).
#include <cstdint>
#include <string>

namespace osp::bench {

struct GenerateBenchOptions {
  int64_t frames = 17;
  int64_t tiny_steps = 0;     // 0: the tiny bundle's default
  int64_t wide_steps = 10;
  int64_t wide_layers = 4;
  int64_t wide_width = 256;   // video size of the 1.3B-width case
  int64_t wide_height = 256;
  bool wide = true;           // false: the tiny bundle only
  std::string precision = "bf16";
  std::string work_dir;       // where the bundles and outputs go (default: a temporary directory)
};

void run_generate_bench(const GenerateBenchOptions& options);

}  // namespace osp::bench
