#pragma once
// The seam through which the umT5 encoder's weights can live outside memory (layer_streamer.h):
// the token embedding's rows of a prompt are asked for by id, and layer i's weights are made
// present in the encoder's T5Weights between acquire(i) and release(i).
#include <ATen/ATen.h>

#include <cstdint>

namespace osp::t5 {

class T5Residency {
 public:
  virtual ~T5Residency() = default;
  // Rows of the token embedding for ids int64 [n], in the encoder's weight dtype: [n, d_model].
  virtual at::Tensor embedding_rows(const at::Tensor& ids) = 0;
  virtual void acquire(int64_t layer) = 0;
  virtual void release(int64_t layer) = 0;
};

}  // namespace osp::t5
