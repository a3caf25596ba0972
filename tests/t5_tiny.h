#pragma once
// A tiny umT5 encoder with random weights and a padded batch of token ids: shared by t5_test.cpp
// (parity with its float64 formulation) and cuda_parity_test.cpp (CUDA against the CPU).
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <memory>

#include "osp/core/precision.h"
#include "osp/models/t5/config.h"
#include "osp/models/t5/encoder.h"
#include "osp/models/t5/random_weights.h"

namespace osp::test::t5_tiny {

// A tiny config with umT5's bucket geometry; inner width (heads·d_kv = 24) ≠ d_model on purpose.
inline t5::T5Config tiny_config() {
  t5::T5Config c;
  c.vocab_size = 64;
  c.d_model = 32;
  c.d_kv = 6;
  c.num_heads = 4;
  c.d_ff = 48;
  c.num_layers = 2;
  c.text_len = 120;  // longer than 91: every bucket of "Relative position buckets" occurs
  c.validate();
  return c;
}

struct Batch {
  at::Tensor ids, mask;
};

// Two rows: full length, and 37 real tokens followed by padding (with random pad ids, which must
// not matter).
inline Batch random_batch(const t5::T5Config& c, uint64_t seed) {
  at::Generator g = at::detail::createCPUGenerator(seed);
  Batch batch;
  batch.ids = at::randint(0, c.vocab_size, {2, c.text_len}, g, at::kLong);
  batch.mask = at::ones({2, c.text_len}, at::kLong);
  batch.mask[1].slice(0, 37).zero_();
  return batch;
}

// The same seed gives the same weights on every device.
inline std::unique_ptr<t5::T5Encoder> random_encoder(const t5::T5Config& c, Precision precision, uint64_t seed = 7,
                                                     c10::Device device = c10::kCPU) {
  auto encoder = std::make_unique<t5::T5Encoder>(c, precision, device);
  t5::randomize_t5_weights(*encoder, seed, 0.2);
  return encoder;
}

}  // namespace osp::test::t5_tiny
