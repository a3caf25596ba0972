#pragma once
// `osp bench vae`: the full-width Wan 2.1 VAE with random weights in fp32 — decode time
// per output frame, FLOP rate against the same-run GEMM rate, and peak RSS per case (the
// high-water mark is reset before each case; decoded frames are dropped as they come, so the
// output buffer is excluded), plus one tiled decode at a larger size.
#include <cstdint>
#include <vector>

namespace osp::bench {

struct VaeBenchOptions {
  int64_t size = 256;                          // square output size of the decode/encode cases
  std::vector<int64_t> decode_latent_frames{5, 21};
  int64_t encode_frames = 17;                  // 0: skip
  int64_t tiled_height = 480, tiled_width = 832;  // 0: skip the tiled case
  int64_t tiled_latent_frames = 2;             // ≥ 2 so that a 4-frame chunk runs
  int64_t tile_size = 256, tile_overlap = 32;
};

void run_vae_bench(const VaeBenchOptions& options);

}  // namespace osp::bench
