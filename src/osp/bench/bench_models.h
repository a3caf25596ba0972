#pragma once
// DiT configs the benchmarks share.
//   "tiny":        the DiT of the shipped osp-next-tiny model (models/osp-next-tiny/dit/config.json:
//                  OSP-Next dual_end, P = 2, z-8 latents, 64-wide text);
//   "1.3b-2layer": Wan 2.1 1.3B widths (dim 1536, FFN 8960, 12 heads, umT5 text width 4096) with
//                  2 layers (or `layers`) and a 64-row context.
#include <string>

#include "osp/io/dtype.h"
#include "osp/models/dit/config.h"

namespace osp::bench {

dit::DiTConfig bench_dit_config(const std::string& name, int64_t layers = 2);

// Writes a DiT checkpoint in the released layout (config.json + one diffusion_pytorch_model.safetensors
// of `dtype`) with random values N(0, 0.02), one tensor at a time, and returns the weights file.
// Skipped when a complete one (marked by .complete) is already in `dir`: delete the folder after
// changing the config.
std::string ensure_random_checkpoint(const std::string& dir, const dit::DiTConfig& config, io::DType dtype);

}  // namespace osp::bench
