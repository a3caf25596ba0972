#pragma once
// `osp bench dit`: DiT forward throughput against the same-run GEMM rate on a CPU or CUDA device,
// at the 1.3B or 14B width, full against Skiparse blocks; and the load-time / peak-RSS figure of a
// full-size 1.3B checkpoint.
#include <cstdint>
#include <string>
#include <vector>

namespace osp::bench {

struct DitBenchOptions {
  std::vector<std::string> precisions{"bf16", "fp32"};
  std::string model = "1.3b";  // width: "1.3b" (dim 1536) or "14b" (dim 5120, 40 heads, ffn 13824)
  int64_t layers = 4;
  int64_t latent_frames = 5;
  int64_t height = 480;
  int64_t width = 832;
  int reps = 1;
  std::vector<std::string> schedules{"full"};  // each of "full", "dual_end" (all blocks sparse, P = 2)
  std::string device = "cpu";                  // cpu, cuda, cuda:N or auto (parse_device)
  bool load = false;
  bool load_only = false;
  bool profile = false;  // per-operation time table of one more forward per row (CPU)
  std::string load_dir = "/tmp/osp-bench-wan1.3b";
};

void run_dit_bench(const DitBenchOptions& options);

}  // namespace osp::bench
