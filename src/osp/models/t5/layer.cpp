#include "osp/models/t5/layer.h"

#include <c10/util/BFloat16.h>

#include <limits>

#include "osp/nn/activation.h"
#include "osp/nn/bf16.h"
#include "osp/nn/gemm.h"
#include "osp/nn/norm.h"

namespace osp::t5 {
namespace {

// Rounds a float32 result to bf16 in bf16 mode (the reference's bf16 op output).
void round_if_reduced(at::Tensor& t, Precision precision) {
  if (precision.reduced()) nn::round_to_bf16_(t);
}

// A linear under the precision policy, as float32 storage (bf16 values in bf16 mode).
at::Tensor linear_f32(const nn::GemmInput& x, const at::Tensor& weight, Precision precision) {
  return nn::linear(x, weight, {}, precision).to(at::kFloat);
}

// Batched a·b of the attention core (the reference's einsums): bf16 operands, float32
// accumulation, bf16 result in bf16 mode. Operands hold bf16 values already in that mode.
at::Tensor batched_matmul(const at::Tensor& a, const at::Tensor& b, Precision precision) {
  if (precision.reduced() && nn::native_bf16_gemm(a.device())) {
    return at::matmul(a.to(at::kBFloat16), b.to(at::kBFloat16)).to(at::kFloat);
  }
  at::Tensor y = at::matmul(a, b);  // products of bf16 values are exact in float32
  round_if_reduced(y, precision);
  return y;
}

// torch.finfo(dtype).min of the compute dtype: the masked-key logit (docs/text-encoder.md "Self-attention" step 3).
float lowest_logit(Precision precision) {
  return precision.reduced() ? static_cast<float>(std::numeric_limits<c10::BFloat16>::lowest())
                             : std::numeric_limits<float>::lowest();
}

}  // namespace

at::Tensor t5_norm(const at::Tensor& x, const at::Tensor& weight, double eps, Precision precision) {
  at::Tensor y = x.scalar_type() == at::kFloat ? x.clone() : x.to(at::kFloat);
  // "T5 RMS norm": x·rsqrt(mean(x²) + eps) in float32, rounded to bf16, times the bf16 weight; the
  // product of two bf16 values is exact in float32, so rounding it gives the bf16 multiply.
  y = nn::rms_norm(y, weight, eps, /*round_normalized=*/precision.reduced());
  round_if_reduced(y, precision);
  return y;
}

void residual_add_(at::Tensor& x, const at::Tensor& y, Precision precision) {
  x.add_(y);
  round_if_reduced(x, precision);
}

at::Tensor self_attention(const at::Tensor& x, const T5LayerWeights& w, const at::Tensor& bias,
                          const at::Tensor& key_valid, const T5Config& config, Precision precision) {
  const int64_t B = x.size(0), L = x.size(1), N = config.num_heads, D = config.d_kv;
  // x comes from t5_norm, already rounded: preparing it in place changes no value and copies nothing.
  const nn::GemmInput in = nn::prepare_gemm_input(x, precision, /*may_overwrite=*/true);
  // "Self-attention" step 1: [B, L, N·D] → [B, L, N, D]; head h owns channels [hD, hD + D).
  const at::Tensor q = linear_f32(in, w.q, precision).view({B, L, N, D});
  const at::Tensor k = linear_f32(in, w.k, precision).view({B, L, N, D});
  const at::Tensor v = linear_f32(in, w.v, precision).view({B, L, N, D});
  const at::Tensor bias_f32 = bias.to(at::kFloat);
  const float lowest = lowest_logit(precision);

  // One sample at a time: the logits [N, L, L] of a whole batch would be B times larger.
  std::vector<at::Tensor> outputs;
  outputs.reserve(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    const at::Tensor qb = q[b].permute({1, 0, 2});  // [N, L, D]
    const at::Tensor kb = k[b].permute({1, 2, 0});  // [N, D, L]
    const at::Tensor vb = v[b].permute({1, 0, 2});  // [N, L, D]
    // steps 2–4: logits = q·kᵀ + β (no 1/√d), masked keys replaced by the lowest value.
    at::Tensor logits = batched_matmul(qb, kb, precision);
    logits.add_(bias_f32);
    round_if_reduced(logits, precision);
    logits.masked_fill_(key_valid[b].logical_not().view({1, 1, L}), lowest);
    // step 5: softmax in float32, rounded to bf16; o_h = P·v_h.
    at::Tensor probabilities = at::softmax(logits, -1);
    round_if_reduced(probabilities, precision);
    outputs.push_back(batched_matmul(probabilities, vb, precision).permute({1, 0, 2}));  // [L, N, D]
  }
  // step 6: heads concatenated → o.
  const at::Tensor heads = at::stack(outputs).view({B, L, N * D});
  return linear_f32(nn::prepare_gemm_input(heads, precision, /*may_overwrite=*/true), w.o, precision);
}

at::Tensor gated_gelu_ffn(const at::Tensor& x, const T5LayerWeights& w, Precision precision) {
  const nn::GemmInput in = nn::prepare_gemm_input(x, precision, /*may_overwrite=*/true);  // as above
  // "Gated-GELU feed-forward": GELU on the gate branch (gate.0 / wi_0), the fc1 branch (wi_1) stays linear.
  at::Tensor hidden = linear_f32(in, w.gate, precision);
  nn::gelu_tanh_(hidden);
  round_if_reduced(hidden, precision);
  hidden.mul_(linear_f32(in, w.fc1, precision));
  round_if_reduced(hidden, precision);
  return linear_f32(nn::prepare_gemm_input(hidden, precision, /*may_overwrite=*/true), w.fc2, precision);
}

}  // namespace osp::t5
