#pragma once
// The building blocks of the Wan VAE (docs/vae.md "Building blocks"): the L2-normalizing RMS norm, the
// residual block, the per-frame attention block and the resampling blocks. Each *Weights class
// registers its parameters under the original key names ("residual.2.weight", "to_qkv.bias", …);
// the forward functions run one chunk with the feature cache of "Chunked causal execution".
#include <ATen/ATen.h>

#include <memory>

#include "osp/models/vae/causal_conv.h"
#include "osp/nn/param_module.h"

namespace osp::vae {

// Children registered as "0", "1", … (the original nn.Sequential indices), some indices empty.
class Sequence : public nn::ParamModule {
 public:
  template <typename M>
  std::shared_ptr<M> add(int64_t index, std::shared_ptr<M> module) {
    return register_module(std::to_string(index), std::move(module));
  }
};

// RMS_norm gamma: [C, 1, 1, 1] in 5-D use, [C, 1, 1] inside the attention block ("Building blocks").
class RmsNormWeights : public nn::ParamModule {
 public:
  RmsNormWeights(int64_t channels, int64_t trailing_ones, const at::TensorOptions& options);
  at::Tensor gamma;
};

// y = x / max(‖x‖₂, 1e-12) · √C · γ over the channel axis (dim 1) at every position ("Building blocks").
at::Tensor rms_norm_channels(const at::Tensor& x, const at::Tensor& gamma);

// "residual.{0,2,3,6}" and "shortcut" ("Building blocks" ResidualBlock).
class ResidualBlockWeights : public nn::ParamModule {
 public:
  // `next_slot` hands out cache slot numbers to the two k = 3 convs.
  ResidualBlockWeights(int64_t in, int64_t out, int64_t& next_slot, const at::TensorOptions& options);
  std::shared_ptr<RmsNormWeights> norm1;        // residual.0
  std::shared_ptr<CausalConv3dWeights> conv1;   // residual.2
  std::shared_ptr<RmsNormWeights> norm2;        // residual.3
  std::shared_ptr<CausalConv3dWeights> conv2;   // residual.6
  std::shared_ptr<CausalConv3dWeights> shortcut;  // null when in == out
};

at::Tensor residual_block(const at::Tensor& x, const ResidualBlockWeights& w, FeatureCache& cache);

// "norm.gamma", "to_qkv", "proj" ("Building blocks" AttentionBlock).
class AttentionBlockWeights : public nn::ParamModule {
 public:
  AttentionBlockWeights(int64_t channels, const at::TensorOptions& options);
  std::shared_ptr<RmsNormWeights> norm;
  std::shared_ptr<Conv2dWeights> to_qkv;
  std::shared_ptr<Conv2dWeights> proj;
};

// Single-head attention over the H·W pixels of each frame, x + proj(softmax(qkᵀ/√C)v). Needs no
// cache; `cache` only counts its FLOPs.
at::Tensor attention_block(const at::Tensor& x, const AttentionBlockWeights& w, FeatureCache& cache);

enum class ResampleMode { kDownsample2d, kDownsample3d, kUpsample2d, kUpsample3d };

// "resample.1" (the Conv2d) and, for the 3d modes, "time_conv" ("Building blocks" Resample).
class ResampleWeights : public nn::ParamModule {
 public:
  ResampleWeights(int64_t channels, ResampleMode mode, int64_t& next_slot, const at::TensorOptions& options);
  ResampleMode mode;
  std::shared_ptr<Conv2dWeights> conv;             // resample.1
  std::shared_ptr<CausalConv3dWeights> time_conv;  // null for the 2d modes
};

at::Tensor resample(const at::Tensor& x, const ResampleWeights& w, FeatureCache& cache);

// The middle blocks "middle.{0,1,2}": residual, attention, residual ("Encoder", "Decoder").
class MiddleWeights : public nn::ParamModule {
 public:
  MiddleWeights(int64_t channels, int64_t& next_slot, const at::TensorOptions& options);
  std::shared_ptr<ResidualBlockWeights> res0;
  std::shared_ptr<AttentionBlockWeights> attn;
  std::shared_ptr<ResidualBlockWeights> res1;
};

at::Tensor middle(const at::Tensor& x, const MiddleWeights& w, FeatureCache& cache);

// "head.0" (RMS norm) and "head.2" (k = 3 causal conv), SiLU between ("Encoder", "Decoder").
class HeadWeights : public nn::ParamModule {
 public:
  HeadWeights(int64_t in, int64_t out, int64_t& next_slot, const at::TensorOptions& options);
  std::shared_ptr<RmsNormWeights> norm;
  std::shared_ptr<CausalConv3dWeights> conv;
};

at::Tensor head(const at::Tensor& x, const HeadWeights& w, FeatureCache& cache);

}  // namespace osp::vae
