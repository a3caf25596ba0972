#include "osp/models/dit/block.h"

#include <cmath>

#include "osp/attention/dense.h"
#include "osp/nn/activation.h"
#include "osp/models/dit/quantization.h"
#include "osp/nn/gemm.h"
#include "osp/nn/linear.h"
#include "osp/nn/modulation.h"
#include "osp/nn/norm.h"

namespace osp::dit {
namespace {

// Rows of m = modulation + e0 (docs/dit.md "Attention block" table).
enum ModRow { kShiftSA = 0, kScaleSA = 1, kGateSA = 2, kShiftFFN = 3, kScaleFFN = 4, kGateFFN = 5 };

at::Tensor heads_view(const at::Tensor& x, int64_t heads) {
  return x.view({x.size(0), x.size(1), heads, x.size(2) / heads});  // [B, L, N, d]
}

}  // namespace

AttentionWeights::AttentionWeights(int64_t dim, const ParamOptions& options)
    : q(register_module("q", std::make_shared<nn::LinearWeights>(dim, dim, options.compute))),
      k(register_module("k", std::make_shared<nn::LinearWeights>(dim, dim, options.compute))),
      v(register_module("v", std::make_shared<nn::LinearWeights>(dim, dim, options.compute))),
      o(register_module("o", std::make_shared<nn::LinearWeights>(dim, dim, options.compute))),
      norm_q(register_module("norm_q", std::make_shared<nn::NormWeights>(dim, false, options.fp32))),
      norm_k(register_module("norm_k", std::make_shared<nn::NormWeights>(dim, false, options.fp32))) {}

WanBlock::WanBlock(const DiTConfig& config, Precision precision, const ParamOptions& options)
    : modulation(add_param("modulation", {1, 6, config.dim}, options.fp32)),
      norm3(register_module("norm3", std::make_shared<nn::NormWeights>(config.dim, true, options.fp32))),
      self_attn(register_module("self_attn", std::make_shared<AttentionWeights>(config.dim, options))),
      cross_attn(register_module("cross_attn", std::make_shared<AttentionWeights>(config.dim, options))),
      ffn(register_module("ffn", std::make_shared<nn::TwoLinears>(config.dim, config.ffn_dim, config.dim,
                                                                  options.compute))),
      config_(config),
      precision_(precision) {}

at::Tensor WanBlock::self_attention(at::Tensor modulated, const nn::RopeTable& rope, const at::Tensor& key_mask,
                                   ParallelHook* parallel) const {
  // "Attention block" step 2: q, k through RMSNorm across heads, RoPE on q and k, global attention (within
  // each row: a Skiparse sub-sequence in a sparse block, padding keys masked, docs/skiparse.md "Attention in a sparse block").
  const auto& w = *self_attn;
  const bool reduced = precision_.reduced();
  const nn::GemmInput a = nn::prepare_gemm_input(std::move(modulated), precision_, /*may_overwrite=*/true);
  at::Tensor q = nn::rms_norm(nn::linear(a, *w.q, precision_), w.norm_q->weight, config_.eps, reduced);
  at::Tensor k = nn::rms_norm(nn::linear(a, *w.k, precision_), w.norm_k->weight, config_.eps, reduced);
  const at::Tensor v = nn::linear(a, *w.v, precision_);
  at::Tensor q4 = heads_view(q, config_.num_heads), k4 = heads_view(k, config_.num_heads);
  nn::apply_rope_(q4, rope);
  nn::apply_rope_(k4, rope);
  const double scale = 1.0 / std::sqrt(static_cast<double>(config_.head_dim()));
  const LocalAttention local = [&](at::Tensor q_, at::Tensor k_, at::Tensor v_, const at::Tensor& mask) {
    fake_quant_attention_inputs(q_, k_, v_, config_);  // quant_attn: after the exchange and RoPE (docs/quantization.md "Q/K/V fake quantization")
    return attention::attention(q_, k_, v_, scale, precision_, attention::DenseKernel::kAuto, mask);
  };
  const at::Tensor v4 = heads_view(v, config_.num_heads);
  const at::Tensor o = parallel ? parallel->attention(q4, k4, v4, key_mask, local) : local(q4, k4, v4, key_mask);
  const at::Tensor o_flat = o.view({o.size(0), o.size(1), config_.dim});
  return nn::linear(nn::prepare_gemm_input(o_flat, precision_, true), *w.o, precision_);
}

CrossKV WanBlock::cross_kv(const at::Tensor& context) const {
  // docs/dit.md "Attention block" step 4: no RoPE and no mask on the text side; k through RMSNorm across heads.
  const auto& w = *cross_attn;
  const nn::GemmInput c = nn::prepare_gemm_input(context, precision_);
  const at::Tensor k =
      nn::rms_norm(nn::linear(c, *w.k, precision_), w.norm_k->weight, config_.eps, precision_.reduced());
  CrossKV kv{heads_view(k, config_.num_heads), heads_view(nn::linear(c, *w.v, precision_), config_.num_heads)};
  fake_quant_attention_input(kv.k, config_);  // quant_attn (docs/quantization.md "Q/K/V fake quantization"), one scale per tensor
  fake_quant_attention_input(kv.v, config_);
  return kv;
}

at::Tensor WanBlock::cross_attention(at::Tensor normed, const CrossKV& text) const {
  // docs/dit.md "Attention block" step 4: no gate; all text_len context rows. The context may have fewer rows than the
  // queries (Skiparse, docs/skiparse.md "Attention in a sparse block" step 2): k and v exist once per sample and the attention maps
  // query row r to context row r mod b.
  const auto& w = *cross_attn;
  const nn::GemmInput n = nn::prepare_gemm_input(std::move(normed), precision_, /*may_overwrite=*/true);
  const at::Tensor q = nn::rms_norm(nn::linear(n, *w.q, precision_), w.norm_q->weight, config_.eps, precision_.reduced());
  const double scale = 1.0 / std::sqrt(static_cast<double>(config_.head_dim()));
  at::Tensor q4 = heads_view(q, config_.num_heads);
  fake_quant_attention_input(q4, config_);
  const at::Tensor o = attention::attention(q4, text.k, text.v, scale, precision_);
  const at::Tensor o_flat = o.view({o.size(0), o.size(1), config_.dim});
  return nn::linear(nn::prepare_gemm_input(o_flat, precision_, true), *w.o, precision_);
}

at::Tensor WanBlock::feed_forward(at::Tensor modulated) const {
  // docs/dit.md "Attention block" step 5: W2·GELU_tanh(W1·x + b1) + b2; in bf16 mode the GELU output is bf16 ("Precision").
  at::Tensor hidden = nn::linear(nn::prepare_gemm_input(std::move(modulated), precision_, true), *ffn->first, precision_);
  nn::gelu_tanh_(hidden);
  return nn::linear(nn::prepare_gemm_input(hidden, precision_, true), *ffn->second, precision_);
}

at::Tensor WanBlock::forward(at::Tensor x, const at::Tensor& e0, const at::Tensor& context, const nn::RopeTable& rope,
                             bool round_norm1, const at::Tensor& key_mask, ParallelHook* parallel) const {
  return forward(std::move(x), e0, cross_kv(context), rope, round_norm1, key_mask, parallel);
}

at::Tensor WanBlock::forward(at::Tensor x, const at::Tensor& e0, const CrossKV& text, const nn::RopeTable& rope,
                             bool round_norm1, const at::Tensor& key_mask, ParallelHook* parallel) const {
  TORCH_CHECK(x.dim() == 3 && e0.size(0) > 0 && x.size(0) % e0.size(0) == 0 && text.k.size(0) == e0.size(0),
              "WanBlock: x ", x.sizes(), ", e0 ", e0.sizes(), " and text keys ", text.k.sizes(), " do not match");
  // m = modulation + e0 in float32 ("Attention block"), rows [B, D]; with P²·b Skiparse rows, row s·b + i
  // uses sample i's (docs/skiparse.md "Attention in a sparse block" step 2: `b n c -> (r b) n c`, a tiny [B, 6, D] copy).
  at::Tensor m = modulation + e0;
  if (m.size(0) != x.size(0)) m = m.repeat({x.size(0) / m.size(0), 1, 1});
  const auto row = [&](ModRow r) { return m.select(1, r); };
  const double eps = config_.eps;

  // Steps 1–3: X += SA(norm1(X)·(1+m1)+m0)·m2.
  at::Tensor a = nn::modulated_layer_norm(x, row(kShiftSA), row(kScaleSA), eps, round_norm1);
  nn::add_gated_(x, self_attention(std::move(a), rope, key_mask, parallel), row(kGateSA));

  // Step 4: X += CA(norm3(X), context); norm3 is the affine LayerNorm (naming trap, docs/dit.md "Attention block").
  nn::add_residual_(x, cross_attention(nn::layer_norm(x, norm3->weight, norm3->bias, eps), text));

  // Steps 5–6: X += FFN(norm2(X)·(1+m4)+m3)·m5.
  at::Tensor c = nn::modulated_layer_norm(x, row(kShiftFFN), row(kScaleFFN), eps, false);
  nn::add_gated_(x, feed_forward(std::move(c)), row(kGateFFN));
  return x;
}

}  // namespace osp::dit
