#pragma once
// FLOP count of one DiT forward (spec/wan-dit.md §10): 2 FLOPs per multiply-add over the linears
// and the attention cores; softmax, norms, RoPE and elementwise work excluded.
#include <cstdint>

#include "osp/models/dit/config.h"

namespace osp::dit {

struct ForwardFlops {
  double self_attn_linear = 0;   // per layer: q, k, v, o on L tokens, 8·L·D²
  double cross_attn_linear = 0;  // per layer: q, o on L tokens + k, v on the text, 4·L·D² + 4·Lt·D²
  double ffn = 0;                // per layer: 4·L·D·F
  double self_attn_core = 0;     // per layer: QKᵀ and PV, 4·L²·D
  double cross_attn_core = 0;    // per layer: 4·L·Lt·D
  double global = 0;             // patch embed, head, text embedding, time MLP (once)
  double per_layer() const { return self_attn_linear + cross_attn_linear + ffn + self_attn_core + cross_attn_core; }
  double total = 0;              // num_layers · per_layer + global
};

// Breakdown for `tokens` image tokens (L = f·h·w) and the config's text_len rows of context.
ForwardFlops forward_flops_breakdown(const DiTConfig& config, int64_t tokens);

// Total FLOPs of one forward.
double forward_flops(const DiTConfig& config, int64_t tokens);

}  // namespace osp::dit
