#include "osp/train/sample_random.h"

#include <ATen/CPUGeneratorImpl.h>

namespace osp::train {
namespace {

// splitmix64: well-mixed generator seeds from (seed, serial).
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

at::Generator sample_generator(uint64_t seed, int64_t serial) {
  return at::detail::createCPUGenerator(mix(mix(seed) ^ static_cast<uint64_t>(serial)));
}

}  // namespace osp::train
