#include "osp/models/t5/encoder.h"

#include "osp/core/error.h"
#include "osp/core/shape.h"
#include "osp/models/t5/layer.h"
#include "osp/models/t5/relative_position.h"

namespace osp::t5 {
namespace {

bool is_integer_or_bool(c10::ScalarType t) { return c10::isIntegralType(t, /*includeBool=*/true); }

}  // namespace

T5Encoder::T5Encoder(T5Config config, Precision precision, c10::Device device)
    : config_(std::move(config)), precision_(precision), device_(device), weights_(config_) {
  config_.validate();
}

void T5Encoder::release_weights() {
  residency_.reset();
  weights_ = T5Weights(config_);
}

void T5Encoder::validate_inputs(const at::Tensor& ids, const at::Tensor& mask) const {
  if (!has_weights()) fail("T5 encoder: weights not loaded (or already released)");
  if (!ids.defined() || ids.dim() != 2 || ids.size(0) < 1 || ids.size(1) < 1) {
    fail_about("ids", "expected token ids [B, L], got {}", ids.defined() ? shape_string(ids.sizes()) : "none");
  }
  if (!is_integer_or_bool(ids.scalar_type()) || ids.scalar_type() == at::kBool) {
    fail_about("ids", "expected an integer dtype, got {}", c10::toString(ids.scalar_type()));
  }
  if (!mask.defined() || mask.sizes() != ids.sizes()) {
    fail_about("mask", "expected [B, L] = {} like ids, got {}", shape_string(ids.sizes()),
               mask.defined() ? shape_string(mask.sizes()) : "none");
  }
  if (!is_integer_or_bool(mask.scalar_type())) {
    fail_about("mask", "expected an integer or bool dtype, got {}", c10::toString(mask.scalar_type()));
  }
  const int64_t lowest = ids.min().item<int64_t>(), highest = ids.max().item<int64_t>();
  if (lowest < 0 || highest >= config_.vocab_size) {
    fail_about("ids", "token id {} is outside the vocabulary [0, {})", lowest < 0 ? lowest : highest,
               config_.vocab_size);
  }
}

at::Tensor T5Encoder::forward(const at::Tensor& ids_in, const at::Tensor& mask_in) const {
  validate_inputs(ids_in, mask_in);
  const at::Tensor ids = ids_in.to(device_, at::kLong);
  const at::Tensor valid = mask_in.to(device_).ne(0);  // bool [B, L]
  const int64_t B = ids.size(0), L = ids.size(1);

  // docs/text-encoder.md "Encoder" step 1: embedding rows, no scaling (bf16 values in bf16 mode).
  const at::Tensor flat_ids = ids.reshape({-1});
  const at::Tensor rows = residency_ ? residency_->embedding_rows(flat_ids) : weights_.token_embedding.index_select(0, flat_ids);
  at::Tensor x = rows.to(at::kFloat).view({B, L, -1});
  const at::Tensor buckets = relative_position_buckets(L, config_.num_buckets, config_.max_distance);
  for (size_t i = 0; i < weights_.layers.size(); ++i) {
    if (residency_) residency_->acquire(static_cast<int64_t>(i));
    const T5LayerWeights& layer = weights_.layers[i];
    // step 2: pre-norm blocks with the layer's own position bias (shared_pos = False).
    const at::Tensor bias = position_bias(layer.position_bias, buckets);  // [N, L, L]
    residual_add_(x, self_attention(t5_norm(x, layer.norm1, config_.eps, precision_), layer, bias, valid, config_,
                                    precision_),
                  precision_);
    residual_add_(x, gated_gelu_ffn(t5_norm(x, layer.norm2, config_.eps, precision_), layer, precision_), precision_);
    if (residency_) residency_->release(static_cast<int64_t>(i));
  }
  // step 3: final norm; "Rows the DiT receives": padded rows are zero (the DiT re-pads with zero rows).
  at::Tensor out = t5_norm(x, weights_.norm, config_.eps, precision_);
  out.mul_(valid.unsqueeze(-1).to(at::kFloat));
  return out;
}

}  // namespace osp::t5
