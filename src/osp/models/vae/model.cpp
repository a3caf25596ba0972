#include "osp/models/vae/model.h"

#include "osp/core/cpu_block_cache.h"

namespace osp::vae {
namespace {

at::Tensor channel_constants(const std::vector<double>& values, c10::Device device) {
  std::vector<float> f(values.begin(), values.end());
  return at::tensor(f).view({1, static_cast<int64_t>(f.size()), 1, 1, 1}).to(device);
}

}  // namespace

WanVAE::WanVAE(VaeConfig config, c10::Device device) : config_(std::move(config)), device_(device) {
  config_.validate();
  const at::TensorOptions options = at::TensorOptions().dtype(at::kFloat).device(device);
  const int64_t z = config_.z_dim;
  encoder = register_module("encoder", std::make_shared<EncoderWeights>(config_, options));
  conv1 = register_module("conv1", std::make_shared<CausalConv3dWeights>(2 * z, 2 * z, std::array<int64_t, 3>{1, 1, 1},
                                                                          -1, options));
  conv2 = register_module("conv2", std::make_shared<CausalConv3dWeights>(z, z, std::array<int64_t, 3>{1, 1, 1}, -1,
                                                                          options));
  decoder = register_module("decoder", std::make_shared<DecoderWeights>(config_, options));
  mean_ = channel_constants(config_.latents_mean, device);
  // The reference multiplies by the float32 reciprocal of std (docs/vae.md "Latent normalization").
  inv_std_ = at::reciprocal(channel_constants(config_.latents_std, device));
}

namespace {

void record(const FeatureCache& cache, RunStats* stats) {
  if (stats) stats->peak_cache_bytes = std::max(stats->peak_cache_bytes, cache.bytes());
}

}  // namespace

at::Tensor WanVAE::encode_moments(const at::Tensor& video, const std::function<void()>& on_chunk,
                                  RunStats* stats) const {
  const int64_t frames = video.size(2);
  const int64_t step = config_.time_factor();
  const CpuBlockCacheNoGrowth within_peak;  // as in decode_raw
  FeatureCache cache(encoder->cache_slots());
  std::vector<at::Tensor> outputs;
  // "Chunked causal execution": frame 0 alone, then `step` (4) frames per chunk; each chunk yields one latent frame.
  for (int64_t start = 0; start < frames; start += (start == 0 ? 1 : step)) {
    const int64_t len = start == 0 ? 1 : std::min(step, frames - start);
    outputs.push_back(encoder->forward_chunk(video.narrow(2, start, len), cache));
    record(cache, stats);
    if (on_chunk) on_chunk();
  }
  at::Tensor h = outputs.size() == 1 ? outputs[0] : at::cat(outputs, 2);
  outputs.clear();
  h = causal_conv3d(h, *conv1, cache);
  if (stats) stats->flops += cache.flops;
  return h;
}

at::Tensor WanVAE::encode_region(const at::Tensor& video, const std::function<void()>& on_chunk,
                                 RunStats* stats) const {
  // mu = channels [0, z); the log-variance half is unused (no sampling at encode time, "Encoder").
  return normalize(encode_moments(video, on_chunk, stats).narrow(1, 0, config_.z_dim));
}

at::Tensor WanVAE::normalize(const at::Tensor& mu) const { return (mu - mean_).mul_(inv_std_); }

// "Latent normalization": mu = z / (1/std) + mean.
at::Tensor WanVAE::denormalize(const at::Tensor& latents) const { return latents.div(inv_std_).add_(mean_); }

void WanVAE::decode_region(const at::Tensor& latents, const FrameSink& sink, RunStats* stats) const {
  decode_raw(denormalize(latents), sink, stats);
}

void WanVAE::decode_raw(const at::Tensor& mu, const FrameSink& sink, RunStats* stats) const {
  // Its sizes change with every level and chunk: blocks cached freely would pile up, unused, on top
  // of its peak (docs/memory.md "Large CPU blocks").
  const CpuBlockCacheNoGrowth within_peak;
  FeatureCache cache(decoder->cache_slots());
  const at::Tensor x = causal_conv3d(mu, *conv2, cache);  // "Latent normalization": conv2 on the whole latent (1×1×1: no slot)
  for (int64_t i = 0; i < x.size(2); ++i) {
    at::Tensor frames = decoder->forward_chunk(x.narrow(2, i, 1), cache);
    record(cache, stats);
    sink(frames);
  }
  if (stats) stats->flops += cache.flops;
}

}  // namespace osp::vae
