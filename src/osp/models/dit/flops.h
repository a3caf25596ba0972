#pragma once
// FLOP count of one DiT forward (docs/dit.md "FLOP count"): 2 FLOPs per multiply-add over the linears
// and the attention cores; softmax, norms, RoPE and elementwise work excluded.
#include <array>
#include <cstdint>

#include "osp/models/dit/config.h"
#include "osp/models/dit/schedule.h"

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

// Self-attention core FLOPs of one block of `kind` on the token grid (f, h, w), per sample: a full
// block 4·L²·D; a Skiparse block (docs/skiparse.md "Cost") 4·D·Σ_s v_s² over its P² sub-sequences,
// v_s = valid tokens of sub-sequence s (varlen: padding is neither query nor key).
double self_attention_core_flops(const DiTConfig& config, const std::array<int64_t, 3>& grid, BlockKind kind);

// Total FLOPs of one forward on the grid with the config's block schedule (equals
// forward_flops(config, f·h·w) for a plain Wan config).
double forward_flops(const DiTConfig& config, const std::array<int64_t, 3>& grid);

}  // namespace osp::dit
