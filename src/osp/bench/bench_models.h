#pragma once
// DiT configs the benchmarks share.
//   "tiny":        the DiT of the shipped osp-next-tiny model (models/osp-next-tiny/dit/config.json:
//                  OSP-Next dual_end, P = 2, z-8 latents, 64-wide text);
//   "1.3b-2layer": Wan 2.1 1.3B widths (dim 1536, FFN 8960, 12 heads, umT5 text width 4096) with
//                  2 layers (or `layers`) and a 64-row context.
#include <string>

#include "osp/models/dit/config.h"

namespace osp::bench {

dit::DiTConfig bench_dit_config(const std::string& name, int64_t layers = 2);

}  // namespace osp::bench
