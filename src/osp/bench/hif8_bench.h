#pragma once
// `osp bench hif8`: codec throughput, the dequantizing matmul with HiF8 and FP8 E4M3
// weights against the bf16 matmul at the Wan 1.3B FFN shape, and the DiT's resident weight memory
// with 8-bit weights against bf16.
#include <cstdint>
#include <string>

namespace osp::bench {

struct Hif8BenchOptions {
  int64_t m = 7800;  // tokens: [m × k]·[k × n], the 1.3B FFN first linear (ffn.0) by default
  int64_t k = 1536;
  int64_t n = 8960;
  int reps = 3;
  int64_t codec_elements = int64_t{1} << 24;
  std::string memory_model = "wan2.1-t2v-1.3b";  // DiT preset for the memory rows; "" skips them
};

void run_hif8_bench(const Hif8BenchOptions& options);

}  // namespace osp::bench
