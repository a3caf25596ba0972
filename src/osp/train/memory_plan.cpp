#include "osp/train/memory_plan.h"

#include <fmt/format.h>

#include <cmath>

#include "osp/core/error.h"
#include "osp/parallel/mesh.h"

namespace osp::train {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Values of one block (every block has the same shapes).
int64_t block_parameter_count(const dit::DiTConfig& c) {
  int64_t total = 0;
  for (const auto& [name, shape] : c.expected_tensor_shapes()) {
    if (name.rfind("blocks.0.", 0) != 0) continue;
    int64_t n = 1;
    for (const int64_t d : shape) n *= d;
    total += n;
  }
  return total;
}

// Bytes of the float32 activations one block keeps for `tokens` tokens of `queries_per_row` rows
// attending `keys` keys with `heads` heads each (plus cross-attention over the text).
struct BlockLoad {
  int64_t tokens = 0;          // this rank's tokens (all rows)
  int64_t attention_rows = 0;  // query rows × heads × keys of self-attention on this rank
};

int64_t kept_bytes(const dit::DiTConfig& c, const BlockLoad& load) {
  const double per_token = kActivationFloatsPerDim * static_cast<double>(c.dim) +
                           kActivationFloatsPerFfn * static_cast<double>(c.ffn_dim) +
                           static_cast<double>(c.num_heads * c.text_len);
  return static_cast<int64_t>(4.0 * (per_token * static_cast<double>(load.tokens) +
                                     static_cast<double>(load.attention_rows)));
}

// The transient of one block's backward beyond what it frees as it goes: the gradient of its
// attention probabilities (none when the attention recomputes them).
int64_t backward_workspace(const BlockLoad& load) { return 4 * load.attention_rows; }

void require_video(const TrainShape& s) {
  if (s.width < 16 || s.width % 16 != 0 || s.width > 8192) fail_about("-W", "width {} must be a multiple of 16 in [16, 8192]", s.width);
  if (s.height < 16 || s.height % 16 != 0 || s.height > 8192) {
    fail_about("-H", "height {} must be a multiple of 16 in [16, 8192]", s.height);
  }
  if (s.frames < 1 || (s.frames - 1) % 4 != 0 || s.frames > 1001) fail_about("--frames", "{} frames must be 4k+1 in [1, 1001]", s.frames);
  if (s.batch < 1 || s.batch > 1024) fail_about("--batch", "must be in [1, 1024], got {}", s.batch);
  if (s.ranks < 1 || s.ranks > 65536) fail_about("--ranks", "must be in [1, 65536], got {}", s.ranks);
  if (s.lora_rank < 0 || s.lora_rank > s.model.dim) fail_about("--lora", "rank must be in [0, {}], got {}", s.model.dim, s.lora_rank);
  const auto& p = s.model.patch_size;
  if (((s.frames - 1) / 4 + 1) % p[0] != 0) fail_about("--frames", "the latent frames are not divisible by the patch size {}", p[0]);
}

}  // namespace

int64_t MemoryPlan::total() const {
  int64_t sum = 0;
  for (const auto& line : lines) sum += line.bytes;
  return sum;
}

int64_t lora_parameter_count(const dit::DiTConfig& c, int64_t rank) { return c.num_layers * 8 * rank * 2 * c.dim; }

MemoryPlan plan_training_memory(const TrainShape& s) {
  require_video(s);
  const dit::DiTConfig& c = s.model;
  parallel::MeshShape mesh;
  mesh.sp = s.sp;
  mesh.ssp = s.ssp;
  if (s.sp < 1 || s.ssp < 1 || s.ranks % (s.sp * s.ssp) != 0) {
    fail_about("--ranks", "{} ranks are not divisible by sp {} × ssp {}", s.ranks, s.sp, s.ssp);
  }
  mesh.dp = s.ranks / (s.sp * s.ssp);
  parallel::validate_mesh(mesh, s.ranks, c);

  MemoryPlan plan;
  plan.dp = mesh.dp;
  plan.parameters = c.parameter_count();
  plan.trainable = s.lora_rank > 0 ? lora_parameter_count(c, s.lora_rank) : plan.parameters;
  const int64_t frozen = s.lora_rank > 0 ? plan.parameters : 0;

  // Tokens: VAE 8× space and 4× time, then the patch grid (docs/dit.md "Forward pass").
  const int64_t T = ((s.frames - 1) / 4 + 1) / c.patch_size[0];
  const int64_t H = s.height / 8 / c.patch_size[1], W = s.width / 8 / c.patch_size[2];
  const int64_t P = c.is_sparse() ? c.sparse_ratio : 1, P2 = P * P;
  plan.tokens = T * H * W;
  plan.padded_tokens = c.is_sparse() ? T * round_up(H, P2) * round_up(W, P2) : plan.tokens;
  const int SP = s.sp * s.ssp, Su = parallel::full_block_degree(static_cast<int>(c.num_heads), SP);
  plan.tokens_per_rank = ceil_div(plan.tokens, Su);

  // Per-rank loads of the two block kinds.
  const int64_t keeps = s.attention_keeps_probabilities ? 1 : 0;
  BlockLoad full{s.batch * plan.tokens_per_rank, keeps * s.batch * (c.num_heads / Su) * plan.tokens * plan.tokens};
  const int64_t n = plan.padded_tokens / P2, rows = s.batch * P2 / s.ssp;  // sub-sequence length, rows per rank
  BlockLoad sparse{rows * ceil_div(n, s.sp), keeps * rows * (c.num_heads / s.sp) * n * n};
  int64_t sparse_blocks = 0;
  if (c.is_sparse()) sparse_blocks = c.num_layers - c.num_full_blocks;
  const int64_t full_blocks = c.num_layers - sparse_blocks;

  const int64_t shard = s.shard_full ? s.ranks : 1;
  const std::string of = s.shard_full ? fmt::format(", 1/{} shard", s.ranks) : "";
  const auto per_rank = [&](int64_t values, int64_t bytes) { return ceil_div(values, shard) * bytes; };
  // The frozen base keeps the model's dtype: bf16 compute stores nearly all of it (the GEMM weights) in bf16.
  const int64_t frozen_bytes = s.precision.reduced() ? 2 : 4;
  if (frozen) {
    plan.lines.push_back({fmt::format("frozen base weights ({}{})", s.precision.reduced() ? "bf16" : "float32", of),
                          per_rank(frozen, frozen_bytes)});
  }
  const std::string trained = s.lora_rank > 0 ? fmt::format("LoRA rank {}", s.lora_rank) : "weights";
  plan.lines.push_back({"trained " + trained + " (float32" + of + ")", per_rank(plan.trainable, 4)});
  plan.lines.push_back({"gradients (float32" + of + ")", per_rank(plan.trainable, 4)});
  plan.lines.push_back({"AdamW moments (2 × float32" + of + ")", per_rank(plan.trainable, 8)});
  plan.lines.push_back({"EMA (float32" + of + ")", per_rank(plan.trainable, 4)});
  if (s.shard_full) {
    // The computing block and the prefetched one in the compute dtype, the non-block unit whole,
    // and one block's whole gradient before its reduce-scatter.
    const int64_t compute = s.precision.reduced() ? 2 : 4;
    const int64_t block = block_parameter_count(c);
    const int64_t outside = plan.parameters - c.num_layers * block_parameter_count(c);
    const int64_t block_grad = s.lora_rank > 0 ? lora_parameter_count(c, s.lora_rank) / c.num_layers : block;
    plan.lines.push_back({"gathered weights (2 blocks + embeddings/head) and 1 block's gradient",
                          (2 * block + outside) * compute + block_grad * 4});
  }
  const int64_t heaviest = std::max(full_blocks ? kept_bytes(c, full) : 0, sparse_blocks ? kept_bytes(c, sparse) : 0);
  if (s.checkpointing) {
    const int64_t inputs = 4 * c.dim * (full_blocks * full.tokens + sparse_blocks * sparse.tokens);
    plan.lines.push_back({"block inputs kept (activation checkpointing)", inputs});
    plan.lines.push_back({"one block recomputed for backward", heaviest});
  } else {
    plan.lines.push_back({"activations kept for backward",
                          full_blocks * kept_bytes(c, full) + sparse_blocks * kept_bytes(c, sparse)});
  }
  const int64_t workspace = std::max(backward_workspace(full), sparse_blocks ? backward_workspace(sparse) : 0);
  if (workspace > 0) plan.lines.push_back({"backward workspace of one block (attention probabilities)", workspace});
  return plan;
}

std::string format_plan(const TrainShape& s, const MemoryPlan& plan, int64_t device_memory) {
  const double GiB = 1024.0 * 1024 * 1024;
  const dit::DiTConfig& c = s.model;
  std::string out = fmt::format(
      "plan: {} ({:.2f} B parameters: dim {}, {} blocks{}), {}×{}×{} frames → {} tokens per sample{}\n",
      s.model_name, static_cast<double>(plan.parameters) / 1e9, c.dim, c.num_layers,
      c.is_sparse() ? fmt::format(", Skiparse {} P = {}, {} full", c.skiparse_model_type, c.sparse_ratio, c.num_full_blocks) : "",
      s.width, s.height, s.frames, plan.tokens,
      plan.padded_tokens != plan.tokens ? fmt::format(" ({} padded in sparse blocks)", plan.padded_tokens) : "");
  out += fmt::format("mesh: {} ranks = dp {} × skiparse_sp {} × sp {}; {}; {}activation checkpointing; {}; {}; batch {} "
                     "per data-parallel group; {}\n",
                     s.ranks, plan.dp, s.ssp, s.sp, s.shard_full ? "fully sharded" : "replicated data parallel",
                     s.checkpointing ? "" : "no ", s.precision.reduced() ? "bf16 compute" : "fp32",
                     s.attention_keeps_probabilities ? "math attention (keeps L² probabilities)" : "fused attention",
                     s.batch,
                     s.lora_rank > 0 ? fmt::format("LoRA rank {} ({:.1f} M values)", s.lora_rank, plan.trainable / 1e6)
                                     : "full training");
  out += fmt::format("{:<72} {:>10}\n", "per rank", "GiB");
  for (const auto& line : plan.lines) out += fmt::format("  {:<70} {:>10.2f}\n", line.what, line.bytes / GiB);
  out += fmt::format("  {:<70} {:>10.2f}\n", "total", plan.total() / GiB);
  out += fmt::format("fits in {:.1f} GiB per rank: {}\n", device_memory / GiB,
                     plan.total() <= device_memory ? "yes" : fmt::format("no ({:.1f} GiB over)", (plan.total() - device_memory) / GiB));
  return out;
}

}  // namespace osp::train
