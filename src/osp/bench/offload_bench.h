#pragma once
// `osp bench offload`: a DiT forward with the weights resident against block streaming from the
// mapped checkpoint (docs/memory.md "Block streaming"), with a warm and a cold page cache: seconds
// per forward, peak RSS, bytes read per forward, the read rate against the disk's sequential rate
// measured in the same run, and the time the forward waited for a block.
#include <cstdint>
#include <string>

namespace osp::bench {

struct OffloadBenchOptions {
  int64_t layers = 6;          // at the Wan 2.1 1.3B widths
  int64_t latent_frames = 2;
  int64_t height = 256;        // pixels (latent = /8)
  int64_t width = 256;
  int reps = 2;                // timed forwards per row (after one warm-up)
  std::string dir = "/tmp/osp-bench-offload";  // the random bf16 checkpoint, written once
};

void run_offload_bench(const OffloadBenchOptions& options);

}  // namespace osp::bench
