#include "osp/shapes/random.h"

namespace osp::shapes {

uint64_t ShapesRandom::next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

ShapesRandom ShapesRandom::for_clip(uint64_t seed, uint64_t index) {
  // Two SplitMix64 outputs decorrelate neighbouring seeds and indices.
  ShapesRandom mix(seed);
  const uint64_t a = mix.next();
  ShapesRandom clip(a ^ (index * 0xD1B54A32D192ED03ULL));
  clip.next();
  return clip;
}

int64_t ShapesRandom::below(int64_t n) { return static_cast<int64_t>(next() % static_cast<uint64_t>(n)); }

double ShapesRandom::uniform(double lo, double hi) {
  const double unit = static_cast<double>(next() >> 11) * 0x1.0p-53;
  return lo + (hi - lo) * unit;
}

}  // namespace osp::shapes
