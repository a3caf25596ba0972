#pragma once
// CausalConv3d and the chunked feature cache (docs/vae.md "Building blocks", "Chunked causal execution").
//
// A k = 3 causal conv pads two zero frames before frame 0 and none after; run chunk by chunk it
// keeps the last two frames of its *input* in a cache slot, so that each chunk sees the frames
// before it: chunked and whole-sequence results are identical. 1×1×1 convs need no cache.
#include <ATen/ATen.h>

#include <vector>

#include "osp/nn/param_module.h"

namespace osp::vae {

constexpr int64_t kCacheFrames = 2;  // CACHE_T ("Chunked causal execution")

// One conv's cache slot: empty, the "Rep" marker of the decoder's upsample3d ("Chunked causal execution"), or the last
// 1–2 input frames [B, C, ≤2, H, W].
struct CacheSlot {
  at::Tensor frames;
  bool rep = false;
  bool empty() const { return !frames.defined() && !rep; }
};

// The slots of one encode or decode call, indexed by each conv's fixed slot number; reset (i.e.
// constructed anew) at the start of every call.
class FeatureCache {
 public:
  explicit FeatureCache(int64_t slots) : slots_(static_cast<size_t>(slots)) {}
  CacheSlot& operator[](int64_t slot) { return slots_.at(static_cast<size_t>(slot)); }
  // Bytes held by all slots (for memory diagnostics).
  int64_t bytes() const;
  // Multiply-adds ×2 of the convolutions and attention run with this cache (for the benchmark).
  double flops = 0;

 private:
  std::vector<CacheSlot> slots_;
};

// Conv3d weights: weight [out, in, kt, kh, kw] and bias [out]; `slot` is the cache slot of a conv
// with a temporal kernel > 1 (−1 for 1×1×1 convs, which need none).
class CausalConv3dWeights : public nn::ParamModule {
 public:
  CausalConv3dWeights(int64_t in, int64_t out, std::array<int64_t, 3> kernel, int64_t slot,
                      const at::TensorOptions& options);
  at::Tensor weight;
  at::Tensor bias;
  int64_t slot;
};

// Conv2d weights [out, in, kh, kw] and bias, run per frame (Resample, attention projections).
class Conv2dWeights : public nn::ParamModule {
 public:
  Conv2dWeights(int64_t in, int64_t out, int64_t kernel, const at::TensorOptions& options);
  at::Tensor weight;
  at::Tensor bias;
};

// Runs `conv` on one chunk x [B, C, t, H, W] with the cache rule of "Chunked causal execution": spatial zero padding of
// (kh−1)/2, (kw−1)/2; in time the cached frames (or zeros, 2 − cached) go in front. Updates the
// slot. A 1×1×1 conv (slot −1) ignores the cache.
at::Tensor causal_conv3d(const at::Tensor& x, const CausalConv3dWeights& conv, FeatureCache& cache);

// The decoder's upsample3d time_conv ("Chunked causal execution"): first chunk → marks the slot "Rep" and returns an
// undefined tensor (the caller skips the time conv); second chunk → the conv with two zero frames
// in front, then the slot holds [zero frame, x] (1-frame chunk) or the last two frames; later
// chunks → the ordinary rule.
at::Tensor upsample_time_conv(const at::Tensor& x, const CausalConv3dWeights& conv, FeatureCache& cache);

// The encoder's downsample3d time_conv ("Chunked causal execution"), stride 2 in time, no padding: first chunk → stores x
// and returns x unchanged (no bias); later chunks → conv over [last cached frame, x], then the
// slot holds x's last frame.
at::Tensor downsample_time_conv(const at::Tensor& x, const CausalConv3dWeights& conv, FeatureCache& cache);

// A per-frame Conv2d on [B, C, T, H, W] (as a Conv3d with a 1-frame kernel) with the given spatial
// padding and stride.
at::Tensor conv2d_per_frame(const at::Tensor& x, const Conv2dWeights& conv, int64_t padding, int64_t stride,
                            FeatureCache& cache);

// 2 · (output elements) · (input channels · kernel volume): the FLOPs of a convolution.
double conv_flops(const at::Tensor& output, const at::Tensor& weight);

}  // namespace osp::vae
