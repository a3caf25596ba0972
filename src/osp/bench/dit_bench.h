#pragma once
// `osp bench dit`: DiT forward throughput against the same-run GEMM rate, and the load-time /
// peak-RSS figure of a full-size 1.3B checkpoint.
#include <cstdint>
#include <string>
#include <vector>

namespace osp::bench {

struct DitBenchOptions {
  std::vector<std::string> precisions{"bf16", "fp32"};
  int64_t layers = 4;
  int64_t latent_frames = 5;
  int64_t height = 480;
  int64_t width = 832;
  int reps = 1;
  std::string schedule = "full";  // "full" or "dual_end" (all blocks sparse, P = 2)
  bool load = false;
  bool load_only = false;
  std::string load_dir = "/tmp/osp-bench-wan1.3b";
};

void run_dit_bench(const DitBenchOptions& options);

}  // namespace osp::bench
