#pragma once
// `osp bench text`: umT5 encoder forward time at the umt5-xxl width with a few of its 24 layers
// (random weights), its FLOP rate against the same-run GEMM rate, and the projected time of the
// full 24-layer encoder.
#include <cstdint>
#include <string>
#include <vector>

namespace osp::bench {

struct TextBenchOptions {
  std::vector<std::string> precisions{"bf16", "fp32"};
  int64_t layers = 2;
  int64_t batch = 2;
  int64_t text_len = 512;
  // Embedding rows. The real 256,384 rows (2 GiB in bf16, 4 GiB in fp32) only feed a row gather
  // that costs nothing measurable, so the default keeps memory low on shared machines.
  int64_t vocab = 32768;
  int reps = 1;
};

void run_text_bench(const TextBenchOptions& options);

}  // namespace osp::bench
