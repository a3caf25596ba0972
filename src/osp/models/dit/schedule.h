#pragma once
// Block schedule of an OSP-Next DiT (docs/skiparse.md "Block schedule"): which blocks attend fully and which
// run Skiparse token or group layouts.
#include <string>
#include <vector>

#include "osp/models/dit/config.h"

namespace osp::dit {

enum class BlockKind { kFull, kToken, kGroup };

// One kind per block. "full": all full. "dual_end": full blocks [0, F/2) ∪ [L − F/2, L), sparse
// block i token when i is even, group when odd. The config is validated first.
std::vector<BlockKind> block_schedule(const DiTConfig& config);

// "30 full" or "dual_end P=2: full x8 (0-3,36-39); token x16 (4,6,…,34); group x16 (5,7,…,35)".
std::string describe_schedule(const DiTConfig& config);

}  // namespace osp::dit
