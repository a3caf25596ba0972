#pragma once
// Shared by dit_test.cpp and skiparse_test.cpp: tiny Wan DiT configs, random weights and inputs,
// and an independent float64 reference of docs/dit.md "Forward pass" to "Attention block" with optional per-block
// self-attention masks.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <array>
#include <cmath>
#include <complex>
#include <map>
#include <string>
#include <vector>

#include "test_util.h"
#include "osp/models/dit/config.h"
#include "osp/models/dit/model.h"

namespace osp::test {

using osp::dit::DiTConfig;
using osp::dit::WanDiT;

// ---------------------------------------------------------------------------------------------
// Tiny models with random weights

inline DiTConfig tiny_config(int64_t dim, int64_t heads) {
  DiTConfig c;
  c.dim = dim;
  c.num_heads = heads;  // head_dim 16: RoPE split 8/4/4 by the general formula
  c.num_layers = 2;
  c.ffn_dim = 48;
  c.freq_dim = 32;
  c.text_dim = 24;
  c.text_len = 16;
  c.in_dim = 4;
  c.out_dim = 4;
  c.validate();
  return c;
}

// `c` with every block sparse: Skiparse dual_end at P = 2 and no full blocks, so the blocks
// alternate token, group (the entry, switch and exit transforms all run).
inline DiTConfig all_sparse(DiTConfig c) {
  c.skiparse_model_type = "dual_end";
  c.sparse_ratio = 2;
  c.num_full_blocks = 0;
  c.validate();
  return c;
}

// Random weights of the given scales into every parameter (rounded by the parameter's dtype).
inline void randomize(WanDiT& model, uint64_t seed) {
  at::Generator g = at::detail::createCPUGenerator(seed);
  c10::InferenceMode guard;
  for (const auto& item : model.named_parameters()) {
    const std::string& name = item.key();
    at::Tensor p = item.value();
    const bool is_norm = name.find("norm") != std::string::npos;
    const bool is_bias = name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
    double std = 0.5 / std::sqrt(static_cast<double>(p.dim() >= 2 ? p.numel() / p.size(0) : 4));
    if (name.find("modulation") != std::string::npos) std = 0.3;
    else if (is_bias) std = 0.1;
    at::Tensor value = randn(p.sizes(), g, is_norm && !is_bias ? 0.2 : std);
    if (is_norm && !is_bias) value.add_(1.0);
    p.copy_(value);
  }
}

struct Inputs {
  at::Tensor x, t, context;
};

inline Inputs random_inputs(const DiTConfig& c, int64_t B, int64_t F, int64_t H, int64_t W, int64_t Lc, uint64_t seed) {
  at::Generator g = at::detail::createCPUGenerator(seed);
  Inputs in;
  in.x = randn({B, c.in_dim, F, H, W}, g);
  in.t = at::rand({B}, g, at::kFloat) * 1000.0;
  in.context = randn({B, Lc, c.text_dim}, g);
  return in;
}

// ---------------------------------------------------------------------------------------------
// Independent float64 formulation of docs/dit.md "Forward pass" to "Attention block" (explicit loops where the layout
// matters). Optional per-block self-attention masks: bool [L, L] (query i may attend key j), an
// undefined tensor = full attention; the Skiparse tests use them as the dense formulation of the
// sparse blocks (docs/skiparse.md "Layouts").

class Reference {
 public:
  Reference(const WanDiT& model) : c_(model.config()) {
    for (const auto& item : model.named_parameters()) p_[item.key()] = item.value().to(at::kDouble);
  }
  // From float64 parameters by canonical name (finite differences perturb a copy of them).
  Reference(const DiTConfig& config, std::map<std::string, at::Tensor> params) : c_(config), p_(std::move(params)) {}

  const std::map<std::string, at::Tensor>& parameters() const { return p_; }

  at::Tensor forward(const Inputs& in, const std::vector<at::Tensor>& masks = {}) const {
    return output(in, streams(in, masks).after_last);
  }

  // The token stream before block 0, after it, and after the last block (what the step cache
  // compares and stores, docs/dit.md "Step cache").
  struct Streams {
    at::Tensor before_first, after_first, after_last;
  };
  Streams streams(const Inputs& in, const std::vector<at::Tensor>& masks = {}) const {
    const Prelude pre = prelude(in);
    Streams out;
    out.before_first = patch_tokens(in.x.to(at::kDouble));
    at::Tensor X = out.before_first;
    for (int64_t n = 0; n < c_.num_layers; ++n) {
      const at::Tensor mask = masks.empty() ? at::Tensor() : masks.at(static_cast<size_t>(n));
      X = block(X, pre.e0, pre.ctx, "blocks." + std::to_string(n) + ".", pre.grid, mask);
      if (n == 0) out.after_first = X;
    }
    out.after_last = X;
    return out;
  }

  // The velocity for the stream X after the last block: the head, then unpatchify.
  at::Tensor output(const Inputs& in, const at::Tensor& X) const {
    const Prelude pre = prelude(in);
    const at::Tensor hm = p("head.modulation") + pre.e.unsqueeze(1);  // [B, 2, D]
    const at::Tensor Y = lin(ln(X) * (1 + hm.select(1, 1).unsqueeze(1)) + hm.select(1, 0).unsqueeze(1), "head.head");
    return unpatch(Y, in.x.size(0), pre.grid);
  }

 private:
  struct Prelude {
    std::array<int64_t, 3> grid;
    at::Tensor e, e0, ctx;
  };
  Prelude prelude(const Inputs& in) const {
    const int64_t B = in.x.size(0);
    Prelude pre;
    pre.grid = {in.x.size(2) / c_.patch_size[0], in.x.size(3) / c_.patch_size[1], in.x.size(4) / c_.patch_size[2]};
    pre.e = time_embedding(in.t);
    pre.e0 = lin(silu(pre.e), "time_projection.1").view({B, 6, c_.dim});
    pre.ctx = text_embedding(in.context.to(at::kDouble));
    return pre;
  }
  const at::Tensor& p(const std::string& name) const { return p_.at(name); }
  at::Tensor lin(const at::Tensor& x, const std::string& prefix) const {
    return at::matmul(x, p(prefix + ".weight").t()) + p(prefix + ".bias");
  }
  static at::Tensor silu(const at::Tensor& x) { return x / (1 + at::exp(-x)); }
  static at::Tensor gelu_tanh(const at::Tensor& x) {
    return 0.5 * x * (1 + at::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
  }
  at::Tensor ln(const at::Tensor& x) const {
    const at::Tensor mean = x.mean(-1, true);
    const at::Tensor var = (x - mean).pow(2).mean(-1, true);
    return (x - mean) / at::sqrt(var + c_.eps);
  }
  at::Tensor rms(const at::Tensor& x, const std::string& weight) const {
    return x / at::sqrt(x.pow(2).mean(-1, true) + c_.eps) * p(weight);
  }

  // Conv3d with kernel = stride = patch, written as explicit sums over each patch.
  at::Tensor patch_tokens(const at::Tensor& x) const {
    const auto& ps = c_.patch_size;
    const int64_t B = x.size(0), C = x.size(1), f = x.size(2) / ps[0], h = x.size(3) / ps[1], w = x.size(4) / ps[2];
    const at::Tensor weight = p("patch_embedding.weight");
    const auto wa = weight.accessor<double, 5>();
    const auto xa = x.accessor<double, 5>();
    at::Tensor out = p("patch_embedding.bias").repeat({B, f * h * w, 1});
    auto oa = out.accessor<double, 3>();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t fi = 0; fi < f; ++fi)
        for (int64_t hi = 0; hi < h; ++hi)
          for (int64_t wi = 0; wi < w; ++wi) {
            const int64_t l = (fi * h + hi) * w + wi;
            for (int64_t d = 0; d < c_.dim; ++d) {
              double acc = 0;
              for (int64_t ch = 0; ch < C; ++ch)
                for (int64_t a = 0; a < ps[0]; ++a)
                  for (int64_t q = 0; q < ps[1]; ++q)
                    for (int64_t r = 0; r < ps[2]; ++r)
                      acc += wa[d][ch][a][q][r] * xa[b][ch][fi * ps[0] + a][hi * ps[1] + q][wi * ps[2] + r];
              oa[b][l][d] += acc;
            }
          }
    return out;
  }

  at::Tensor time_embedding(const at::Tensor& t) const {
    const int64_t B = t.size(0), half = c_.freq_dim / 2;
    at::Tensor s = at::empty({B, 2 * half}, at::kDouble);
    auto sa = s.accessor<double, 2>();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t k = 0; k < half; ++k) {
        const double angle = t[b].item<double>() * std::pow(10000.0, -static_cast<double>(k) / half);
        sa[b][k] = std::cos(angle);
        sa[b][half + k] = std::sin(angle);
      }
    s = s.to(at::kFloat).to(at::kDouble);  // the official casts the sinusoid to float32
    return lin(silu(lin(s, "time_embedding.0")), "time_embedding.2");
  }

  at::Tensor text_embedding(const at::Tensor& context) const {
    at::Tensor padded = at::zeros({context.size(0), c_.text_len, c_.text_dim}, at::kDouble);
    padded.narrow(1, 0, context.size(1)).copy_(context);
    return lin(gelu_tanh(lin(padded, "text_embedding.0")), "text_embedding.2");
  }

  // Rotates pair j of every head of token (fi, hi, wi) by its angle, as a complex product.
  at::Tensor rope(const at::Tensor& x, const std::array<int64_t, 3>& grid) const {
    const int64_t B = x.size(0), N = c_.num_heads, d = c_.head_dim();
    const int64_t sixth = d / 6;
    const int64_t pairs_per_axis[3] = {(d - 4 * sixth) / 2, sixth, sixth};
    at::Tensor out = x.clone().view({B, -1, N, d});
    auto oa = out.accessor<double, 4>();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t fi = 0; fi < grid[0]; ++fi)
        for (int64_t hi = 0; hi < grid[1]; ++hi)
          for (int64_t wi = 0; wi < grid[2]; ++wi) {
            const int64_t l = (fi * grid[1] + hi) * grid[2] + wi, pos[3] = {fi, hi, wi};
            for (int64_t n = 0; n < N; ++n) {
              int64_t j = 0;
              for (int axis = 0; axis < 3; ++axis)
                for (int64_t k = 0; k < pairs_per_axis[axis]; ++k, ++j) {
                  const double theta = pos[axis] * std::pow(10000.0, -2.0 * k / (2.0 * pairs_per_axis[axis]));
                  const std::complex<double> v =
                      std::complex<double>(oa[b][l][n][2 * j], oa[b][l][n][2 * j + 1]) * std::polar(1.0, theta);
                  oa[b][l][n][2 * j] = v.real();
                  oa[b][l][n][2 * j + 1] = v.imag();
                }
            }
          }
    return out.view(x.sizes());
  }

  // Per-head softmax attention with an explicit, max-subtracted softmax; with a mask [Lq, Lk] only
  // the allowed keys of each query enter the softmax.
  at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                    const at::Tensor& mask = at::Tensor()) const {
    const at::Tensor mask_values = mask.defined() ? mask.to(at::kBool).contiguous() : mask;
    const bool* allowed_keys = mask.defined() ? mask_values.data_ptr<bool>() : nullptr;
    const int64_t B = q.size(0), N = c_.num_heads, d = c_.head_dim();
    std::vector<at::Tensor> samples;
    for (int64_t b = 0; b < B; ++b) {
      std::vector<at::Tensor> heads;
      for (int64_t n = 0; n < N; ++n) {
        const at::Tensor qh = q[b].narrow(1, n * d, d), kh = k[b].narrow(1, n * d, d), vh = v[b].narrow(1, n * d, d);
        at::Tensor s = at::matmul(qh, kh.t()) / std::sqrt(static_cast<double>(d));
        auto sa = s.accessor<double, 2>();
        for (int64_t i = 0; i < s.size(0); ++i) {
          double mx = -INFINITY, total = 0;
          const auto allowed = [&](int64_t j) { return allowed_keys == nullptr || allowed_keys[i * s.size(1) + j]; };
          for (int64_t j = 0; j < s.size(1); ++j)
            if (allowed(j)) mx = std::max(mx, sa[i][j]);
          for (int64_t j = 0; j < s.size(1); ++j) total += (sa[i][j] = allowed(j) ? std::exp(sa[i][j] - mx) : 0.0);
          for (int64_t j = 0; j < s.size(1); ++j) sa[i][j] /= total;
        }
        heads.push_back(at::matmul(s, vh));
      }
      samples.push_back(at::cat(heads, 1));
    }
    return at::stack(samples);
  }

  at::Tensor block(at::Tensor X, const at::Tensor& e0, const at::Tensor& ctx, const std::string& b,
                   const std::array<int64_t, 3>& grid, const at::Tensor& mask) const {
    const at::Tensor m = p(b + "modulation") + e0;  // [B, 6, D]
    const auto row = [&](int64_t r) { return m.select(1, r).unsqueeze(1); };
    // Self-attention on norm1(X)·(1+m1)+m0, gate m2.
    const at::Tensor a = ln(X) * (1 + row(1)) + row(0);
    const at::Tensor q = rope(rms(lin(a, b + "self_attn.q"), b + "self_attn.norm_q.weight"), grid);
    const at::Tensor k = rope(rms(lin(a, b + "self_attn.k"), b + "self_attn.norm_k.weight"), grid);
    const at::Tensor sa = lin(attend(q, k, lin(a, b + "self_attn.v"), mask), b + "self_attn.o");
    X = X + sa * row(2);
    // Cross-attention on norm3(X) (the affine LayerNorm), no gate.
    const at::Tensor n3 = ln(X) * p(b + "norm3.weight") + p(b + "norm3.bias");
    const at::Tensor cq = rms(lin(n3, b + "cross_attn.q"), b + "cross_attn.norm_q.weight");
    const at::Tensor ck = rms(lin(ctx, b + "cross_attn.k"), b + "cross_attn.norm_k.weight");
    X = X + lin(attend(cq, ck, lin(ctx, b + "cross_attn.v")), b + "cross_attn.o");
    // FFN on norm2(X)·(1+m4)+m3, gate m5.
    const at::Tensor cf = ln(X) * (1 + row(4)) + row(3);
    return X + lin(gelu_tanh(lin(cf, b + "ffn.0")), b + "ffn.2") * row(5);
  }

  // Y[b, ℓ, (p·ph + q)·pw·C + r·C + ch] → out[b, ch, fi·pt+p, hi·ph+q, wi·pw+r].
  at::Tensor unpatch(const at::Tensor& Y, int64_t B, const std::array<int64_t, 3>& grid) const {
    const auto& ps = c_.patch_size;
    const int64_t C = c_.out_dim;
    at::Tensor out = at::empty({B, C, grid[0] * ps[0], grid[1] * ps[1], grid[2] * ps[2]}, at::kDouble);
    auto oa = out.accessor<double, 5>();
    const auto ya = Y.accessor<double, 3>();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t fi = 0; fi < grid[0]; ++fi)
        for (int64_t hi = 0; hi < grid[1]; ++hi)
          for (int64_t wi = 0; wi < grid[2]; ++wi)
            for (int64_t a = 0; a < ps[0]; ++a)
              for (int64_t q = 0; q < ps[1]; ++q)
                for (int64_t r = 0; r < ps[2]; ++r)
                  for (int64_t ch = 0; ch < C; ++ch) {
                    const int64_t l = (fi * grid[1] + hi) * grid[2] + wi;
                    const int64_t col = ((a * ps[1] + q) * ps[2] + r) * C + ch;
                    oa[b][ch][fi * ps[0] + a][hi * ps[1] + q][wi * ps[2] + r] = ya[b][l][col];
                  }
    return out;
  }

  DiTConfig c_;
  std::map<std::string, at::Tensor> p_;
};


}  // namespace osp::test
