#include "osp/models/vae/coder.h"

namespace osp::vae {

void StageList::append(std::shared_ptr<ResidualBlockWeights> block) {
  add(static_cast<int64_t>(layers.size()), block);
  layers.push_back({std::move(block), nullptr});
}

void StageList::append(std::shared_ptr<ResampleWeights> block) {
  add(static_cast<int64_t>(layers.size()), block);
  layers.push_back({nullptr, std::move(block)});
}

at::Tensor run_stages(at::Tensor x, const StageList& stages, FeatureCache& cache) {
  for (const StageLayer& layer : stages.layers) {
    x = layer.residual ? residual_block(x, *layer.residual, cache) : resample(x, *layer.resample, cache);
  }
  return x;
}

std::vector<int64_t> encoder_dims(const VaeConfig& config) {
  std::vector<int64_t> dims{config.base_dim};
  for (int64_t m : config.dim_mult) dims.push_back(config.base_dim * m);
  return dims;
}

std::vector<int64_t> decoder_dims(const VaeConfig& config) {
  std::vector<int64_t> dims{config.base_dim * config.dim_mult.back()};
  for (auto it = config.dim_mult.rbegin(); it != config.dim_mult.rend(); ++it) dims.push_back(config.base_dim * *it);
  return dims;
}

// docs/vae.md "Encoder": conv1, then per level num_res_blocks residual blocks and (except the last level) a
// downsample (3d where temperal_downsample says so), the middle blocks, the head (→ 2·z_dim).
EncoderWeights::EncoderWeights(const VaeConfig& config, const at::TensorOptions& options) {
  const std::vector<int64_t> dims = encoder_dims(config);
  conv1 = register_module(
      "conv1", std::make_shared<CausalConv3dWeights>(3, dims[0], std::array<int64_t, 3>{3, 3, 3}, slots_++, options));
  downsamples = register_module("downsamples", std::make_shared<StageList>());
  const int64_t levels = config.levels();
  for (int64_t i = 0; i < levels; ++i) {
    int64_t in = dims[static_cast<size_t>(i)];
    const int64_t out = dims[static_cast<size_t>(i + 1)];
    for (int64_t b = 0; b < config.num_res_blocks; ++b) {
      downsamples->append(std::make_shared<ResidualBlockWeights>(in, out, slots_, options));
      in = out;
    }
    if (i != levels - 1) {
      const ResampleMode mode = config.temperal_downsample[static_cast<size_t>(i)] ? ResampleMode::kDownsample3d
                                                                                     : ResampleMode::kDownsample2d;
      downsamples->append(std::make_shared<ResampleWeights>(out, mode, slots_, options));
    }
  }
  middle = register_module("middle", std::make_shared<MiddleWeights>(dims.back(), slots_, options));
  head = register_module("head", std::make_shared<HeadWeights>(dims.back(), 2 * config.z_dim, slots_, options));
}

at::Tensor EncoderWeights::forward_chunk(const at::Tensor& x, FeatureCache& cache) const {
  at::Tensor h = causal_conv3d(x, *conv1, cache);
  h = run_stages(std::move(h), *downsamples, cache);
  h = vae::middle(h, *middle, cache);
  return vae::head(h, *head, cache);
}

// "Decoder": conv1, middle, per level num_res_blocks + 1 residual blocks (the input width halved after
// each upsample) and (except the last level) an upsample, then the head (→ 3 channels).
DecoderWeights::DecoderWeights(const VaeConfig& config, const at::TensorOptions& options) {
  const std::vector<int64_t> dims = decoder_dims(config);
  const std::vector<bool> temporal = config.temperal_upsample();
  conv1 = register_module("conv1", std::make_shared<CausalConv3dWeights>(
                                       config.z_dim, dims[0], std::array<int64_t, 3>{3, 3, 3}, slots_++, options));
  middle = register_module("middle", std::make_shared<MiddleWeights>(dims[0], slots_, options));
  upsamples = register_module("upsamples", std::make_shared<StageList>());
  const int64_t levels = config.levels();
  for (int64_t i = 0; i < levels; ++i) {
    int64_t in = dims[static_cast<size_t>(i)];
    if (i > 0) in /= 2;  // the previous upsample halved the channels
    const int64_t out = dims[static_cast<size_t>(i + 1)];
    for (int64_t b = 0; b < config.num_res_blocks + 1; ++b) {
      upsamples->append(std::make_shared<ResidualBlockWeights>(in, out, slots_, options));
      in = out;
    }
    if (i != levels - 1) {
      const ResampleMode mode =
          temporal[static_cast<size_t>(i)] ? ResampleMode::kUpsample3d : ResampleMode::kUpsample2d;
      upsamples->append(std::make_shared<ResampleWeights>(out, mode, slots_, options));
    }
  }
  head = register_module("head", std::make_shared<HeadWeights>(dims.back(), 3, slots_, options));
}

at::Tensor DecoderWeights::forward_chunk(const at::Tensor& x, FeatureCache& cache) const {
  at::Tensor h = causal_conv3d(x, *conv1, cache);
  h = vae::middle(h, *middle, cache);
  h = run_stages(std::move(h), *upsamples, cache);
  return vae::head(h, *head, cache);
}

}  // namespace osp::vae
