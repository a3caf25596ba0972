#include "osp/models/dit/flops.h"

#include "osp/attention/skiparse.h"

namespace osp::dit {

ForwardFlops forward_flops_breakdown(const DiTConfig& c, int64_t tokens) {
  // docs/dit.md "FLOP count", with the released constants generalized: 64 = in/out channels · patch
  // volume, 512 = text_len, 4096 = text_dim, 256 = freq_dim.
  const double L = static_cast<double>(tokens), D = static_cast<double>(c.dim), F = static_cast<double>(c.ffn_dim);
  const double Lt = static_cast<double>(c.text_len);
  ForwardFlops f;
  f.self_attn_linear = 8 * L * D * D;
  f.cross_attn_linear = 4 * L * D * D + 4 * Lt * D * D;
  f.ffn = 4 * L * D * F;
  f.self_attn_core = 4 * L * L * D;
  f.cross_attn_core = 4 * L * Lt * D;
  const double patch_in = static_cast<double>(c.in_dim * c.patch_volume());
  const double patch_out = static_cast<double>(c.out_dim * c.patch_volume());
  f.global = 2 * L * D * patch_in + 2 * L * D * patch_out +
             2 * Lt * (static_cast<double>(c.text_dim) * D + D * D) +
             2 * (static_cast<double>(c.freq_dim) * D + 7 * D * D);
  f.total = static_cast<double>(c.num_layers) * f.per_layer() + f.global;
  return f;
}

double forward_flops(const DiTConfig& config, int64_t tokens) { return forward_flops_breakdown(config, tokens).total; }

double self_attention_core_flops(const DiTConfig& config, const std::array<int64_t, 3>& grid, BlockKind kind) {
  const double D = static_cast<double>(config.dim);
  if (kind == BlockKind::kFull) {
    const double L = static_cast<double>(grid[0] * grid[1] * grid[2]);
    return 4 * L * L * D;
  }
  const auto g = attention::SkiparseGeometry::make(grid, config.sparse_ratio);
  double sum = 0;
  for (int64_t s = 0; s < g.subsequences(); ++s) {
    const double valid = static_cast<double>(kind == BlockKind::kToken ? g.valid_tokens_token_layout(s)
                                                                       : g.valid_tokens_group_layout(s));
    sum += valid * valid;
  }
  return 4 * sum * D;
}

double forward_flops(const DiTConfig& config, const std::array<int64_t, 3>& grid) {
  const ForwardFlops f = forward_flops_breakdown(config, grid[0] * grid[1] * grid[2]);
  // Every layer as in "FLOP count", then each block's self-attention core replaced by its schedule kind's.
  double total = f.total - static_cast<double>(config.num_layers) * f.self_attn_core;
  for (const BlockKind kind : block_schedule(config)) total += self_attention_core_flops(config, grid, kind);
  return total;
}

}  // namespace osp::dit
