#pragma once
// Parameters of the umT5 encoder under their canonical Wan names (docs/text-encoder.md "Checkpoint keys"). A plain
// struct, not a torch::nn::Module: the loader assigns each tensor as it comes out of the file (no
// second copy of the model), and dropping the struct frees the memory.
#include <ATen/ATen.h>

#include <string>
#include <utility>
#include <vector>

#include "osp/models/t5/config.h"

namespace osp::t5 {

struct T5LayerWeights {
  at::Tensor norm1;          // [d_model]
  at::Tensor q, k, v;        // [inner, d_model]
  at::Tensor o;              // [d_model, inner]
  at::Tensor norm2;          // [d_model]
  at::Tensor gate;           // ffn.gate.0 [d_ff, d_model] (GELU branch)
  at::Tensor fc1;            // [d_ff, d_model] (linear branch)
  at::Tensor fc2;            // [d_model, d_ff]
  at::Tensor position_bias;  // pos_embedding.embedding [num_buckets, num_heads]
};

struct T5Weights {
  at::Tensor token_embedding;  // [vocab_size, d_model]
  std::vector<T5LayerWeights> layers;
  at::Tensor norm;  // final norm [d_model]

  // Empty (undefined) tensors for `config`, to be assigned by name.
  explicit T5Weights(const T5Config& config);

  // Every slot under its canonical name, in the order of T5Config::expected_tensor_shapes().
  std::vector<std::pair<std::string, at::Tensor*>> named_slots();

  // Total bytes of the assigned tensors.
  int64_t bytes() const;
};

}  // namespace osp::t5
