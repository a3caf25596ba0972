#pragma once
// One WanAttentionBlock (docs/dit.md "Attention block") with the official mixed precision ("Precision").
#include <torch/nn/module.h>

#include "osp/core/precision.h"
#include "osp/models/dit/config.h"
#include "osp/models/dit/parallel_hook.h"
#include "osp/nn/param_module.h"
#include "osp/nn/rope.h"

namespace osp::dit {

// Parameter dtypes ("Precision"; the official run keeps fp32 weights and autocasts): tensors that
// autocast feeds to a bf16 GEMM — the weights *and biases* of q/k/v/o, FFN, text embedding and
// patch embedding — are stored in Precision::compute(), which is exactly what autocast rounds them
// to; everything applied in float32 — modulation, norm3, the RMSNorm weights, the time MLP and the
// head — stays float32.
struct ParamOptions {
  at::TensorOptions compute;  // Precision::compute() dtype
  at::TensorOptions fp32;
};

// Self- or cross-attention weights: "q", "k", "v", "o" linears and the "norm_q", "norm_k" RMSNorm
// weights across all heads.
class AttentionWeights : public nn::ParamModule {
 public:
  AttentionWeights(int64_t dim, const ParamOptions& options);
  std::shared_ptr<nn::LinearWeights> q, k, v, o;
  std::shared_ptr<nn::NormWeights> norm_q, norm_k;
};

// Cross-attention keys and values of one text context, [b, Lt, heads, head_dim] each, after
// norm_k ("Attention block" step 4). They depend only on the prompt and the layer, so a generation computes
// them once per block (text_context.h), not once per step.
struct CrossKV {
  at::Tensor k, v;
};

class WanBlock : public nn::ParamModule {
 public:
  WanBlock(const DiTConfig& config, Precision precision, const ParamOptions& options);

  // x [B, L, D] float32 residual stream, updated in place and returned; e0 [b, 6, D] float32 time
  // projection; context [b, Lt, D] embedded text; rope: table of x's tokens. `round_norm1`: round
  // norm1's result to bf16 (block 0 in bf16 mode, whose input is the bf16 patch embedding, "Precision").
  // b = B for plain Wan. In a Skiparse block (docs/skiparse.md "Attention in a sparse block") x holds the P²·b
  // sub-sequences of b samples, b divides B, and row r uses sample (r mod b)'s modulation and text
  // ("Attention in a sparse block" step 2: row s·b + i ↔ sample i; the text keys/values are computed once per sample); rope is then
  // the per-sub-sequence table [P², L, d/2] ("Attention in a sparse block" step 3) and key_mask bool [B, L] excludes the padding
  // tokens as self-attention keys ("Padding and validity" step 3; undefined: every key valid). Padded query rows keep
  // ordinary values (the key-side-mask semantics of "Padding and validity" step 3); they never reach a real token and are
  // cropped when the stream leaves the sparse region. `parallel`: the self-attention core runs
  // through ParallelHook::attention (Ulysses all-to-alls around it, docs/skiparse.md "Ulysses sequence parallelism").
  at::Tensor forward(at::Tensor x, const at::Tensor& e0, const at::Tensor& context, const nn::RopeTable& rope,
                     bool round_norm1, const at::Tensor& key_mask = {}, ParallelHook* parallel = nullptr) const;
  // The same with the cross-attention keys/values computed beforehand by cross_kv(context).
  at::Tensor forward(at::Tensor x, const at::Tensor& e0, const CrossKV& text, const nn::RopeTable& rope,
                     bool round_norm1, const at::Tensor& key_mask = {}, ParallelHook* parallel = nullptr) const;

  // k = RMSNorm(W_k·c), v = W_v·c of the embedded text context [b, Lt, D] (docs/dit.md "Attention block" step 4).
  CrossKV cross_kv(const at::Tensor& context) const;

  // Registered in the order of "Checkpoint keys".
  at::Tensor modulation;  // [1, 6, D]
  std::shared_ptr<nn::NormWeights> norm3;
  std::shared_ptr<AttentionWeights> self_attn, cross_attn;
  std::shared_ptr<nn::TwoLinears> ffn;

 private:
  at::Tensor self_attention(at::Tensor modulated, const nn::RopeTable& rope, const at::Tensor& key_mask,
                            ParallelHook* parallel) const;
  at::Tensor cross_attention(at::Tensor normed, const CrossKV& text) const;
  at::Tensor feed_forward(at::Tensor modulated) const;

  DiTConfig config_;
  Precision precision_;
};

}  // namespace osp::dit
