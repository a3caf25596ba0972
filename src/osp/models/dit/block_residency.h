#pragma once
// The seam through which a DiT's blocks can live outside memory between uses. WanDiT::forward
// calls acquire(n) before block n runs and release(n) after it; a residency must leave block n's
// parameters holding their values between the two (the block computes exactly as if resident) and
// may do anything with them outside (block streaming from a mapped checkpoint, block_streamer.h).
#include <cstdint>

namespace osp::dit {

class BlockResidency {
 public:
  virtual ~BlockResidency() = default;
  virtual void acquire(int64_t n) = 0;
  virtual void release(int64_t n) = 0;
};

}  // namespace osp::dit
