#pragma once
// The umT5 encoder (docs/text-encoder.md "Encoder"): token embedding, pre-norm blocks of self-attention with a
// per-layer relative position bias and a gated-GELU FFN, final T5 RMS norm.
#include <c10/core/Device.h>

#include <memory>

#include "osp/core/precision.h"
#include "osp/models/t5/config.h"
#include "osp/models/t5/residency.h"
#include "osp/models/t5/weights.h"

namespace osp::t5 {

class T5Encoder {
 public:
  // Weights are empty until assigned (load_t5_weights, or randomize_t5_weights of
  // random_weights.h). Precision: bf16 — the official run ("Encoder precision"): bf16 weights, every op
  // rounded to bf16 as the reference does (on CPUs without native bf16, bf16 values in float32
  // storage, nn/gemm.h); fp32 — the reference mode, float32 weights and arithmetic.
  T5Encoder(T5Config config, Precision precision, c10::Device device = c10::kCPU);

  // ids int64 [B, text_len] in [0, vocab_size), mask int64 [B, text_len] (1 real, 0 pad; other
  // integer or bool dtypes accepted). Returns the context float32 [B, text_len, d_model] with the
  // rows of padded positions set to zero (the real rows are what the DiT consumes, "Rows the DiT receives").
  // Throws osp::Error naming "ids" / "mask" for bad shapes, dtypes or out-of-vocabulary ids.
  at::Tensor forward(const at::Tensor& ids, const at::Tensor& mask) const;

  // Drops the weights (the memory returns at once); forward afterwards is an error.
  void release_weights();
  bool has_weights() const { return residency_ || weights_.token_embedding.defined(); }

  // The weights come and go through `residency` from now on (layer_streamer.h); the encoder owns it.
  void set_residency(std::unique_ptr<T5Residency> residency) { residency_ = std::move(residency); }
  const T5Residency* residency() const { return residency_.get(); }

  const T5Config& config() const { return config_; }
  Precision precision() const { return precision_; }
  c10::Device device() const { return device_; }
  // dtype the weights are stored in: bf16 in bf16 mode, float32 in the reference mode.
  c10::ScalarType weight_dtype() const { return precision_.reduced() ? c10::kBFloat16 : c10::kFloat; }

  T5Weights& weights() { return weights_; }
  const T5Weights& weights() const { return weights_; }

 private:
  void validate_inputs(const at::Tensor& ids, const at::Tensor& mask) const;

  T5Config config_;
  Precision precision_;
  c10::Device device_;
  T5Weights weights_;
  std::unique_ptr<T5Residency> residency_;  // after weights_: destroyed first
};

}  // namespace osp::t5
