#pragma once
// An independent float64 formulation of the Wan VAE (docs/vae.md "Building blocks" to "Latent normalization") over the whole
// sequence at once: causal convs over the full time axis (two zero frames before frame 0) written
// as explicit sums over kernel taps (einsum), the downsample3d / upsample3d first-frame rules of "Chunked causal execution"
// in their whole-sequence form, and the architecture rebuilt from the config and the
// docs' tables. It reads the parameters by their Wan names and shares no code with src/osp/models/vae.
#include <ATen/ATen.h>

#include <cmath>
#include <map>
#include <string>

#include "osp/models/vae/config.h"

namespace osp::test::vae_ref {

using Params = std::map<std::string, at::Tensor>;  // Wan name → float64 tensor

// y[:, o, t] = Σ_taps W[o, i, a, b, c] · xpad[:, i, s·t + a, h + b, w + c] + bias, with `front`
// zero frames before frame 0, (kh−1)/2 zero pixels on each spatial side, time stride `stride`.
inline at::Tensor conv_taps(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, int64_t front,
                            int64_t stride = 1) {
  const int64_t kt = w.size(2), kh = w.size(3), kw = w.size(4);
  const int64_t ph = (kh - 1) / 2, pw = (kw - 1) / 2;
  const at::Tensor xp = at::constant_pad_nd(x, {pw, pw, ph, ph, front, 0});
  const int64_t t_out = (xp.size(2) - kt) / stride + 1;
  const int64_t h = x.size(3), wd = x.size(4);
  at::Tensor y = at::zeros({x.size(0), w.size(0), t_out, h, wd}, x.options());
  for (int64_t a = 0; a < kt; ++a)
    for (int64_t p = 0; p < kh; ++p)
      for (int64_t q = 0; q < kw; ++q) {
        const at::Tensor window = xp.slice(2, a, a + stride * (t_out - 1) + 1, stride).narrow(3, p, h).narrow(4, q, wd);
        y += at::einsum("oi,bithw->bothw", {w.select(2, a).select(2, p).select(2, q), window});
      }
  return y + b.view({1, -1, 1, 1, 1});
}

inline at::Tensor causal(const Params& P, const std::string& name, const at::Tensor& x) {
  const at::Tensor& w = P.at(name + ".weight");
  return conv_taps(x, w, P.at(name + ".bias"), w.size(2) - 1);
}

inline at::Tensor rms(const at::Tensor& x, const at::Tensor& gamma) {
  const int64_t c = x.size(1);
  const at::Tensor n = (x * x).sum(1, true).sqrt().clamp_min(1e-12);
  return x / n * std::sqrt(static_cast<double>(c)) * gamma.reshape({1, c, 1, 1, 1});
}

inline at::Tensor swish(const at::Tensor& x) { return x / (1 + at::exp(-x)); }

inline at::Tensor residual(const Params& P, const std::string& p, const at::Tensor& x) {
  at::Tensor h = causal(P, p + ".residual.2", swish(rms(x, P.at(p + ".residual.0.gamma"))));
  h = causal(P, p + ".residual.6", swish(rms(h, P.at(p + ".residual.3.gamma"))));
  const at::Tensor s = P.count(p + ".shortcut.weight") ? causal(P, p + ".shortcut", x) : x;
  return h + s;
}

// Per-frame single-head attention with an explicit softmax ("Building blocks" AttentionBlock).
inline at::Tensor attention(const Params& P, const std::string& p, const at::Tensor& x) {
  const int64_t B = x.size(0), C = x.size(1), T = x.size(2), H = x.size(3), W = x.size(4);
  const at::Tensor u = rms(x, P.at(p + ".norm.gamma"));
  const at::Tensor tok = u.permute({0, 2, 3, 4, 1}).reshape({B * T, H * W, C});
  const at::Tensor qkv = at::einsum("nlc,oc->nlo", {tok, P.at(p + ".to_qkv.weight").view({3 * C, C})}) +
                         P.at(p + ".to_qkv.bias");
  const at::Tensor q = qkv.narrow(2, 0, C), k = qkv.narrow(2, C, C), v = qkv.narrow(2, 2 * C, C);
  at::Tensor s = at::einsum("nqc,nkc->nqk", {q, k}) / std::sqrt(static_cast<double>(C));
  s = at::exp(s - std::get<0>(s.max(2, true)));
  s = s / s.sum(2, true);
  at::Tensor o = at::einsum("nqk,nkc->nqc", {s, v});
  o = at::einsum("nlc,oc->nlo", {o, P.at(p + ".proj.weight").view({C, C})}) + P.at(p + ".proj.bias");
  return x + o.view({B, T, H, W, C}).permute({0, 4, 1, 2, 3});
}

// Per-frame 2-D conv as a 1-frame-kernel 3-D conv; `pad` spatial zeros each side.
inline at::Tensor conv2d(const Params& P, const std::string& name, const at::Tensor& x) {
  return conv_taps(x, P.at(name + ".weight").unsqueeze(2), P.at(name + ".bias"), 0);
}

inline at::Tensor down2d(const Params& P, const std::string& p, const at::Tensor& x) {
  // ZeroPad2d(0,1,0,1), 3×3 conv stride 2, no padding: written as pixel (2i+a, 2j+b) sums.
  const at::Tensor xp = at::constant_pad_nd(x, {0, 1, 0, 1});
  const at::Tensor& w = P.at(p + ".resample.1.weight");
  const int64_t ho = x.size(3) / 2, wo = x.size(4) / 2;
  at::Tensor y = at::zeros({x.size(0), w.size(0), x.size(2), ho, wo}, x.options());
  for (int64_t a = 0; a < 3; ++a)
    for (int64_t b = 0; b < 3; ++b)
      y += at::einsum("oi,bithw->bothw",
                      {w.select(2, a).select(2, b), xp.slice(3, a, a + 2 * ho - 1, 2).slice(4, b, b + 2 * wo - 1, 2)});
  return y + P.at(p + ".resample.1.bias").view({1, -1, 1, 1, 1});
}

// Whole-sequence downsample3d time_conv ("Chunked causal execution"): out 0 = g0, out k = conv(g_{2k−2}, g_{2k−1}, g_{2k}).
inline at::Tensor down_time(const Params& P, const std::string& p, const at::Tensor& g) {
  if (g.size(2) == 1) return g;
  const at::Tensor rest = conv_taps(g, P.at(p + ".time_conv.weight"), P.at(p + ".time_conv.bias"), 0, 2);
  return at::cat({g.narrow(2, 0, 1), rest}, 2);
}

inline at::Tensor up2d(const Params& P, const std::string& p, const at::Tensor& x) {
  const at::Tensor up = x.repeat_interleave(2, 3).repeat_interleave(2, 4);
  return conv2d(P, p + ".resample.1", up);
}

// Whole-sequence upsample3d time_conv ("Chunked causal execution"): frame 0 passes; g_1..g_m causal (two zero frames
// before g_1), each output frame split into two frames (channels [0,C) first).
inline at::Tensor up_time(const Params& P, const std::string& p, const at::Tensor& g) {
  if (g.size(2) == 1) return g;
  const at::Tensor y = causal(P, p + ".time_conv", g.narrow(2, 1, g.size(2) - 1));  // [B, 2C, m, H, W]
  const int64_t C = g.size(1), m = y.size(2);
  std::vector<at::Tensor> frames{g.narrow(2, 0, 1)};
  for (int64_t i = 0; i < m; ++i) {
    frames.push_back(y.narrow(1, 0, C).narrow(2, i, 1));
    frames.push_back(y.narrow(1, C, C).narrow(2, i, 1));
  }
  return at::cat(frames, 2);
}

inline at::Tensor middle(const Params& P, const std::string& p, at::Tensor x) {
  x = residual(P, p + ".middle.0", x);
  x = attention(P, p + ".middle.1", x);
  return residual(P, p + ".middle.2", x);
}

inline at::Tensor head(const Params& P, const std::string& p, const at::Tensor& x) {
  return causal(P, p + ".head.2", swish(rms(x, P.at(p + ".head.0.gamma"))));
}

inline at::Tensor channel_view(const std::vector<double>& v) {
  return at::tensor(v, at::kDouble).view({1, -1, 1, 1, 1});
}

// video [B, 3, T, H, W] → normalized latents ("Encoder", "Latent normalization").
inline at::Tensor encode(const Params& P, const vae::VaeConfig& cfg, const at::Tensor& video) {
  at::Tensor x = causal(P, "encoder.conv1", video.to(at::kDouble));
  int64_t idx = 0;
  const int64_t L = cfg.levels();
  for (int64_t i = 0; i < L; ++i) {
    for (int64_t b = 0; b < cfg.num_res_blocks; ++b) x = residual(P, "encoder.downsamples." + std::to_string(idx++), x);
    if (i != L - 1) {
      const std::string p = "encoder.downsamples." + std::to_string(idx++);
      x = down2d(P, p, x);
      if (cfg.temperal_downsample[static_cast<size_t>(i)]) x = down_time(P, p, x);
    }
  }
  x = head(P, "encoder", middle(P, "encoder", x));
  x = causal(P, "conv1", x);
  const at::Tensor mu = x.narrow(1, 0, cfg.z_dim);
  // (mu − mean) · (1/std) with the float32 reciprocal, as the reference code computes it.
  const at::Tensor inv_std = channel_view(cfg.latents_std).to(at::kFloat).reciprocal().to(at::kDouble);
  return (mu - channel_view(cfg.latents_mean)) * inv_std;
}

// normalized latents → video clamped to [−1, 1] ("Decoder", "Latent normalization").
inline at::Tensor decode(const Params& P, const vae::VaeConfig& cfg, const at::Tensor& z) {
  const at::Tensor inv_std = channel_view(cfg.latents_std).to(at::kFloat).reciprocal().to(at::kDouble);
  at::Tensor x = z.to(at::kDouble) / inv_std + channel_view(cfg.latents_mean);
  x = causal(P, "conv2", x);
  x = middle(P, "decoder", causal(P, "decoder.conv1", x));
  int64_t idx = 0;
  const int64_t L = cfg.levels();
  const std::vector<bool> up = cfg.temperal_upsample();
  for (int64_t i = 0; i < L; ++i) {
    for (int64_t b = 0; b < cfg.num_res_blocks + 1; ++b) x = residual(P, "decoder.upsamples." + std::to_string(idx++), x);
    if (i != L - 1) {
      const std::string p = "decoder.upsamples." + std::to_string(idx++);
      if (up[static_cast<size_t>(i)]) x = up_time(P, p, x);
      x = up2d(P, p, x);
    }
  }
  return head(P, "decoder", x).clamp(-1.0, 1.0);
}

}  // namespace osp::test::vae_ref
