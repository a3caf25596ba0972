#include "osp/models/vae/blocks.h"

#include <cmath>

#include "osp/attention/dense.h"
#include "osp/nn/autograd.h"

namespace osp::vae {
namespace {

constexpr double kNormEps = 1e-12;  // F.normalize's eps (docs/vae.md "Building blocks" RMS_norm)

// Nearest ×2 in H and W ("Building blocks" upsample2d: for factor 2 nearest-exact duplicates every pixel 2×2).
at::Tensor upsample_nearest2x(const at::Tensor& x) {
  const auto s = x.sizes();
  return x.reshape({s[0], s[1], s[2], s[3], 1, s[4], 1})
      .expand({s[0], s[1], s[2], s[3], 2, s[4], 2})
      .reshape({s[0], s[1], s[2], 2 * s[3], 2 * s[4]});
}

// Frame interleave after the upsample3d time_conv ("Building blocks"): [B, 2C, t, H, W] → [B, C, 2t, H, W] with
// output frame 2i + s = channel block s of input frame i.
at::Tensor interleave_frames(const at::Tensor& y) {
  const auto s = y.sizes();
  const int64_t c = s[1] / 2;
  return y.view({s[0], 2, c, s[2], s[3], s[4]}).permute({0, 2, 3, 1, 4, 5}).reshape({s[0], c, 2 * s[2], s[3], s[4]});
}

// Pixels of each frame as tokens: [B, C, T, H, W] → [B·T, H·W, C].
at::Tensor frames_to_tokens(const at::Tensor& x) {
  const auto s = x.sizes();
  return x.permute({0, 2, 3, 4, 1}).reshape({s[0] * s[2], s[3] * s[4], s[1]});
}

at::Tensor tokens_to_frames(const at::Tensor& t, at::IntArrayRef shape) {
  return t.view({shape[0], shape[2], shape[3], shape[4], shape[1]}).permute({0, 4, 1, 2, 3});
}

// SiLU in place at inference; out of place while autograd records a graph (VAE training), whose
// backward needs the input that the in-place form overwrites (nn/autograd.h).
at::Tensor silu_activation(at::Tensor h) { return nn::records_graph(h) ? at::silu(h) : at::silu_(h); }

}  // namespace

RmsNormWeights::RmsNormWeights(int64_t channels, int64_t trailing_ones, const at::TensorOptions& options) {
  std::vector<int64_t> shape{channels};
  shape.insert(shape.end(), static_cast<size_t>(trailing_ones), 1);
  gamma = add_param("gamma", shape, options);
}

at::Tensor rms_norm_channels(const at::Tensor& x, const at::Tensor& gamma) {
  const int64_t c = x.size(1);
  const bool graph = nn::records_graph(x, gamma);
  at::Tensor norm = at::norm(x, 2, {1}, /*keepdim=*/true);
  const at::Tensor denom = graph ? norm.clamp_min(kNormEps) : norm.clamp_min_(kNormEps);
  at::Tensor y = x / denom;
  // gamma [C, 1, 1, 1] broadcasts over [B, C, T, H, W]; [C, 1, 1] over [B, C, H, W] frames.
  const at::Tensor scale = gamma.reshape({c}).mul(std::sqrt(static_cast<double>(c)));
  std::vector<int64_t> view(static_cast<size_t>(x.dim()), 1);
  view[1] = c;
  return graph ? y.mul(scale.view(view)) : y.mul_(scale.view(view));
}

ResidualBlockWeights::ResidualBlockWeights(int64_t in, int64_t out, int64_t& next_slot,
                                           const at::TensorOptions& options) {
  auto residual = register_module("residual", std::make_shared<Sequence>());
  norm1 = residual->add(0, std::make_shared<RmsNormWeights>(in, 3, options));
  conv1 = residual->add(2, std::make_shared<CausalConv3dWeights>(in, out, std::array<int64_t, 3>{3, 3, 3},
                                                                  next_slot++, options));
  norm2 = residual->add(3, std::make_shared<RmsNormWeights>(out, 3, options));
  conv2 = residual->add(6, std::make_shared<CausalConv3dWeights>(out, out, std::array<int64_t, 3>{3, 3, 3},
                                                                  next_slot++, options));
  if (in != out) {
    shortcut = register_module(
        "shortcut", std::make_shared<CausalConv3dWeights>(in, out, std::array<int64_t, 3>{1, 1, 1}, -1, options));
  }
}

at::Tensor residual_block(const at::Tensor& x, const ResidualBlockWeights& w, FeatureCache& cache) {
  at::Tensor h = silu_activation(rms_norm_channels(x, w.norm1->gamma));
  h = causal_conv3d(h, *w.conv1, cache);
  h = silu_activation(rms_norm_channels(h, w.norm2->gamma));
  h = causal_conv3d(h, *w.conv2, cache);  // dropout 0 ("Configuration")
  return h.add_(w.shortcut ? causal_conv3d(x, *w.shortcut, cache) : x);
}

AttentionBlockWeights::AttentionBlockWeights(int64_t channels, const at::TensorOptions& options)
    : norm(register_module("norm", std::make_shared<RmsNormWeights>(channels, 2, options))),
      to_qkv(register_module("to_qkv", std::make_shared<Conv2dWeights>(channels, 3 * channels, 1, options))),
      proj(register_module("proj", std::make_shared<Conv2dWeights>(channels, channels, 1, options))) {}

at::Tensor attention_block(const at::Tensor& x, const AttentionBlockWeights& w, FeatureCache& cache) {
  const int64_t c = x.size(1);
  // The norm is per pixel, so it runs on the 5-D tensor; the 1×1 convs are linears on tokens.
  const at::Tensor u = frames_to_tokens(rms_norm_channels(x, w.norm->gamma));          // [BT, HW, C]
  const at::Tensor qkv = at::linear(u, w.to_qkv->weight.view({3 * c, c}), w.to_qkv->bias);  // [BT, HW, 3C]
  const auto view = [&](int64_t i) { return qkv.narrow(2, i * c, c).unsqueeze(2); };  // [BT, HW, 1, C]
  // SDPA where LibTorch has it, else the query-chunked math path (bounded score memory).
  at::Tensor o = attention::attention(view(0), view(1), view(2), 1.0 / std::sqrt(static_cast<double>(c)),
                                      Precision{PrecisionMode::kFp32});
  o = at::linear(o.view({o.size(0), o.size(1), c}), w.proj->weight.view({c, c}), w.proj->bias);
  const double tokens = static_cast<double>(u.size(0)) * static_cast<double>(u.size(1));
  cache.flops += 2.0 * tokens * 4.0 * c * c + 4.0 * tokens * static_cast<double>(u.size(1)) * c;
  return tokens_to_frames(o, x.sizes()).add(x);
}

ResampleWeights::ResampleWeights(int64_t channels, ResampleMode resample_mode, int64_t& next_slot,
                                 const at::TensorOptions& options)
    : mode(resample_mode) {
  const bool up = mode == ResampleMode::kUpsample2d || mode == ResampleMode::kUpsample3d;
  auto seq = register_module("resample", std::make_shared<Sequence>());
  conv = seq->add(1, std::make_shared<Conv2dWeights>(channels, up ? channels / 2 : channels, 3, options));
  if (mode == ResampleMode::kUpsample3d) {
    time_conv = register_module("time_conv", std::make_shared<CausalConv3dWeights>(
                                                 channels, 2 * channels, std::array<int64_t, 3>{3, 1, 1},
                                                 next_slot++, options));
  } else if (mode == ResampleMode::kDownsample3d) {
    time_conv = register_module("time_conv", std::make_shared<CausalConv3dWeights>(
                                                 channels, channels, std::array<int64_t, 3>{3, 1, 1}, next_slot++,
                                                 options));
  }
}

at::Tensor resample(const at::Tensor& x, const ResampleWeights& w, FeatureCache& cache) {
  switch (w.mode) {
    case ResampleMode::kDownsample2d:
    case ResampleMode::kDownsample3d: {
      // ZeroPad2d(left 0, right 1, top 0, bottom 1) then a stride-2 3×3 conv, per frame.
      at::Tensor y = conv2d_per_frame(at::constant_pad_nd(x, {0, 1, 0, 1}), *w.conv, 0, 2, cache);
      return w.mode == ResampleMode::kDownsample3d ? downsample_time_conv(y, *w.time_conv, cache) : y;
    }
    case ResampleMode::kUpsample3d: {
      at::Tensor t = upsample_time_conv(x, *w.time_conv, cache);
      const at::Tensor& frames = t.defined() ? interleave_frames(t) : x;
      return conv2d_per_frame(upsample_nearest2x(frames), *w.conv, 1, 1, cache);
    }
    case ResampleMode::kUpsample2d:
      return conv2d_per_frame(upsample_nearest2x(x), *w.conv, 1, 1, cache);
  }
  return {};
}

MiddleWeights::MiddleWeights(int64_t channels, int64_t& next_slot, const at::TensorOptions& options) {
  res0 = register_module("0", std::make_shared<ResidualBlockWeights>(channels, channels, next_slot, options));
  attn = register_module("1", std::make_shared<AttentionBlockWeights>(channels, options));
  res1 = register_module("2", std::make_shared<ResidualBlockWeights>(channels, channels, next_slot, options));
}

at::Tensor middle(const at::Tensor& x, const MiddleWeights& w, FeatureCache& cache) {
  at::Tensor h = residual_block(x, *w.res0, cache);
  h = attention_block(h, *w.attn, cache);
  return residual_block(h, *w.res1, cache);
}

HeadWeights::HeadWeights(int64_t in, int64_t out, int64_t& next_slot, const at::TensorOptions& options) {
  norm = register_module("0", std::make_shared<RmsNormWeights>(in, 3, options));
  conv = register_module(
      "2", std::make_shared<CausalConv3dWeights>(in, out, std::array<int64_t, 3>{3, 3, 3}, next_slot++, options));
}

at::Tensor head(const at::Tensor& x, const HeadWeights& w, FeatureCache& cache) {
  return causal_conv3d(silu_activation(rms_norm_channels(x, w.norm->gamma)), *w.conv, cache);
}

}  // namespace osp::vae
