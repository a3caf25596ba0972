#pragma once
// A small portable random generator for the Shapes dataset: SplitMix64 (Steele, Lea, Flood 2014),
// so the same seed gives the same clips on every platform and standard library (std:: distributions
// are implementation-defined).
#include <cstdint>

namespace osp::shapes {

class ShapesRandom {
 public:
  explicit ShapesRandom(uint64_t seed) : state_(seed) {}
  // The generator of clip `index` of a dataset seeded with `seed`: clips are independent of the
  // count, so the first N clips of a larger run equal an N-clip run.
  static ShapesRandom for_clip(uint64_t seed, uint64_t index);

  uint64_t next();
  // Uniform integer in [0, n) (n ≥ 1; modulo bias below 2^-58 for the small n used here).
  int64_t below(int64_t n);
  // Uniform double in [lo, hi).
  double uniform(double lo, double hi);

 private:
  uint64_t state_;
};

}  // namespace osp::shapes
