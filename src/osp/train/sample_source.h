#pragma once
// What the trainer reads: (latents, context) pairs by index, and the context that replaces a
// dropped caption. Implementations: the cached manifest of `osp data cache` (cached_samples.h)
// and in-memory synthetic samples (tests, benchmarks).
#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <string>

#include "osp/train/train_config.h"

namespace osp::train {

struct TrainSample {
  at::Tensor latents;  // float32 [C, T', H', W'] (normalized VAE latents)
  at::Tensor context;  // float32 [n, text_dim] (the real rows of the text encoder's output)
};

class SampleSource {
 public:
  virtual ~SampleSource() = default;
  virtual int64_t size() const = 0;
  virtual TrainSample get(int64_t index) = 0;
  // Caption dropout (classifier-free guidance training): the empty caption's context [n, text_dim]
  // as the text encoder gives it (the unconditional input the model then learns), or an empty
  // tensor when the source has none — the trainer then uses an all-zero context.
  virtual at::Tensor null_context() const = 0;
  virtual std::string describe() const = 0;
};

// Random samples drawn once from `data.seed`: per sample and channel a constant offset plus
// N(0, 0.5²) detail (something to learn), and N(0, 1) contexts.
std::unique_ptr<SampleSource> synthetic_samples(const SyntheticData& data);

// The data source a config names: its cached manifest or its synthetic data.
std::unique_ptr<SampleSource> open_samples(const TrainConfig& config);

// The epoch-wise shuffled order of sample indices (seeded, identical on every rank): epoch e is a
// permutation drawn from (seed, e). The position (epoch, cursor) is what a checkpoint stores.
class DataOrder {
 public:
  DataOrder(int64_t size, uint64_t seed);
  int64_t next();
  int64_t epoch() const { return epoch_; }
  int64_t cursor() const { return cursor_; }
  void seek(int64_t epoch, int64_t cursor);

 private:
  void shuffle();
  int64_t size_;
  uint64_t seed_;
  int64_t epoch_ = 0, cursor_ = 0;
  at::Tensor order_;
};

}  // namespace osp::train
