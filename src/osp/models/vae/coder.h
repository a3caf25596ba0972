#pragma once
// Encoder3d and Decoder3d of the Wan VAE (docs/vae.md "Encoder", "Decoder"): weights under the original key
// names and the forward pass of one chunk ("Chunked causal execution" chunking happens in model.cpp).
#include <ATen/ATen.h>

#include <memory>
#include <vector>

#include "osp/models/vae/blocks.h"
#include "osp/models/vae/config.h"

namespace osp::vae {

// One entry of "downsamples" / "upsamples": a residual block or a resample block.
struct StageLayer {
  std::shared_ptr<ResidualBlockWeights> residual;
  std::shared_ptr<ResampleWeights> resample;
};

class StageList : public Sequence {
 public:
  void append(std::shared_ptr<ResidualBlockWeights> block);
  void append(std::shared_ptr<ResampleWeights> block);
  std::vector<StageLayer> layers;
};

at::Tensor run_stages(at::Tensor x, const StageList& stages, FeatureCache& cache);

// "encoder.*": video chunk [B, 3, t, H, W] → [B, 2·z_dim, t', H/8, W/8].
class EncoderWeights : public nn::ParamModule {
 public:
  EncoderWeights(const VaeConfig& config, const at::TensorOptions& options);
  at::Tensor forward_chunk(const at::Tensor& x, FeatureCache& cache) const;
  int64_t cache_slots() const { return slots_; }

  std::shared_ptr<CausalConv3dWeights> conv1;
  std::shared_ptr<StageList> downsamples;
  std::shared_ptr<MiddleWeights> middle;
  std::shared_ptr<HeadWeights> head;

 private:
  int64_t slots_ = 0;
};

// "decoder.*": one latent frame [B, z_dim, 1, h, w] (after conv2) → video frames [B, 3, t, 8h, 8w].
class DecoderWeights : public nn::ParamModule {
 public:
  DecoderWeights(const VaeConfig& config, const at::TensorOptions& options);
  at::Tensor forward_chunk(const at::Tensor& x, FeatureCache& cache) const;
  int64_t cache_slots() const { return slots_; }

  std::shared_ptr<CausalConv3dWeights> conv1;
  std::shared_ptr<MiddleWeights> middle;
  std::shared_ptr<StageList> upsamples;
  std::shared_ptr<HeadWeights> head;

 private:
  int64_t slots_ = 0;
};

// Channel widths: encoder dims = base·[1] + base·dim_mult; decoder dims = base·[m_last] + reversed.
std::vector<int64_t> encoder_dims(const VaeConfig& config);
std::vector<int64_t> decoder_dims(const VaeConfig& config);

}  // namespace osp::vae
