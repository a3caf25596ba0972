#include "osp/models/vae/causal_conv.h"

namespace osp::vae {
namespace {

at::Tensor last_frames(const at::Tensor& x, int64_t n) {
  const int64_t t = x.size(2);
  return x.narrow(2, std::max<int64_t>(0, t - n), std::min(n, t)).clone();  // clone: x may be freed
}

// Zero frames [B, C, n, H, W] like x.
at::Tensor zero_frames(const at::Tensor& x, int64_t n) {
  return at::zeros({x.size(0), x.size(1), n, x.size(3), x.size(4)}, x.options());
}

// Runs a conv3d and counts its FLOPs.
at::Tensor counted_conv(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias,
                        at::IntArrayRef stride, at::IntArrayRef padding, FeatureCache& cache) {
  at::Tensor y = at::conv3d(input, weight, bias, stride, padding);
  cache.flops += conv_flops(y, weight);
  return y;
}

// The conv over [front padding zeros, cached frames, x] (docs/vae.md "Chunked causal execution" step 2), spatial padding in the conv.
at::Tensor conv_with_front(const at::Tensor& x, const at::Tensor& cached, const CausalConv3dWeights& conv,
                           FeatureCache& cache) {
  const int64_t kt = conv.weight.size(2);
  const int64_t front = kt - 1;  // 2·pt frames for k = 3, p = 1 ("Building blocks")
  const int64_t have = cached.defined() ? cached.size(2) : 0;
  std::vector<at::Tensor> parts;
  if (front - have > 0) parts.push_back(zero_frames(x, front - have));
  if (have > 0) parts.push_back(cached);
  parts.push_back(x);
  const at::Tensor input = parts.size() == 1 ? x : at::cat(parts, 2);
  return counted_conv(input, conv.weight, conv.bias, {1, 1, 1},
                      {0, (conv.weight.size(3) - 1) / 2, (conv.weight.size(4) - 1) / 2}, cache);
}

// "Chunked causal execution" step 1: the last two frames of x, with the previous chunk's last frame in front when x has one.
at::Tensor next_cache(const at::Tensor& x, const CacheSlot& slot) {
  at::Tensor keep = last_frames(x, kCacheFrames);
  if (keep.size(2) < kCacheFrames && slot.frames.defined()) {
    keep = at::cat({slot.frames.narrow(2, slot.frames.size(2) - 1, 1), keep}, 2);
  }
  return keep;
}

}  // namespace

int64_t FeatureCache::bytes() const {
  int64_t total = 0;
  for (const CacheSlot& s : slots_)
    if (s.frames.defined()) total += s.frames.numel() * static_cast<int64_t>(s.frames.element_size());
  return total;
}

CausalConv3dWeights::CausalConv3dWeights(int64_t in, int64_t out, std::array<int64_t, 3> kernel, int64_t slot_index,
                                         const at::TensorOptions& options)
    : weight(add_param("weight", {out, in, kernel[0], kernel[1], kernel[2]}, options)),
      bias(add_param("bias", {out}, options)),
      slot(slot_index) {}

Conv2dWeights::Conv2dWeights(int64_t in, int64_t out, int64_t kernel, const at::TensorOptions& options)
    : weight(add_param("weight", {out, in, kernel, kernel}, options)), bias(add_param("bias", {out}, options)) {}

at::Tensor causal_conv3d(const at::Tensor& x, const CausalConv3dWeights& conv, FeatureCache& cache) {
  if (conv.slot < 0) {
    return counted_conv(x, conv.weight, conv.bias, {1, 1, 1},
                        {0, (conv.weight.size(3) - 1) / 2, (conv.weight.size(4) - 1) / 2}, cache);
  }
  CacheSlot& slot = cache[conv.slot];
  at::Tensor keep = next_cache(x, slot);
  at::Tensor y = conv_with_front(x, slot.frames, conv, cache);
  slot.frames = keep;
  return y;
}

at::Tensor upsample_time_conv(const at::Tensor& x, const CausalConv3dWeights& conv, FeatureCache& cache) {
  CacheSlot& slot = cache[conv.slot];
  if (slot.empty()) {  // first chunk: "Rep", no time conv
    slot.rep = true;
    return {};
  }
  if (slot.rep) {  // second chunk: full zero padding, the first chunk's features are not used
    at::Tensor keep = last_frames(x, kCacheFrames);
    if (keep.size(2) < kCacheFrames) keep = at::cat({zero_frames(keep, 1), keep}, 2);
    at::Tensor y = conv_with_front(x, at::Tensor(), conv, cache);
    slot.rep = false;
    slot.frames = keep;
    return y;
  }
  return causal_conv3d(x, conv, cache);
}

at::Tensor downsample_time_conv(const at::Tensor& x, const CausalConv3dWeights& conv, FeatureCache& cache) {
  CacheSlot& slot = cache[conv.slot];
  if (slot.empty()) {  // first chunk: keep the input, skip the conv (1 frame in, 1 out, no bias)
    slot.frames = last_frames(x, 1);
    return x;
  }
  at::Tensor input = at::cat({slot.frames.narrow(2, slot.frames.size(2) - 1, 1), x}, 2);
  slot.frames = last_frames(x, 1);
  return counted_conv(input, conv.weight, conv.bias, {2, 1, 1}, {0, 0, 0}, cache);
}

at::Tensor conv2d_per_frame(const at::Tensor& x, const Conv2dWeights& conv, int64_t padding, int64_t stride,
                            FeatureCache& cache) {
  return counted_conv(x, conv.weight.unsqueeze(2), conv.bias, {1, stride, stride}, {0, padding, padding}, cache);
}

double conv_flops(const at::Tensor& output, const at::Tensor& weight) {
  return 2.0 * static_cast<double>(output.numel()) * static_cast<double>(weight.numel() / weight.size(0));
}

}  // namespace osp::vae
