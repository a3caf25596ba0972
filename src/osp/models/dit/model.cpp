#include "osp/core/shape.h"

#include "osp/core/op_profile.h"
#include "osp/models/dit/model.h"

#include <c10/core/InferenceMode.h>

#include "osp/attention/skiparse.h"
#include "osp/core/error.h"
#include "osp/models/dit/quantization.h"
#include "osp/nn/activation.h"
#include "osp/nn/gemm.h"
#include "osp/nn/linear.h"
#include "osp/nn/modulation.h"
#include "osp/nn/time_embedding.h"

namespace osp::dit {
namespace {

constexpr Precision kFp32{PrecisionMode::kFp32};

namespace sk = osp::attention;

// The Skiparse view of one forward (docs/skiparse.md "Padding and validity", "Attention in a sparse block" step 3): geometry, RoPE tables and key
// masks of the token and group layouts.
struct SparseLayouts {
  sk::SkiparseGeometry geometry;
  nn::RopeTable token_rope, group_rope;  // [P², n, d/2] each
  at::Tensor token_mask, group_mask;     // bool [P²·b, n], undefined without padding
};

// "Attention in a sparse block" step 3: the table of the unpadded grid, padded with angle 0 (cos 1, sin 0) and moved through the
// layout like q and k, so every token keeps its original (t, y, x).
nn::RopeTable layout_rope(const nn::RopeTable& rope, const sk::SkiparseGeometry& g, bool group) {
  const auto move = [&](const at::Tensor& table, double pad_value) {
    const at::Tensor padded = sk::pad(table.unsqueeze(0), g, pad_value);  // [1, N, d/2]
    return group ? sk::to_group_layout(padded, g) : sk::to_token_layout(padded, g);
  };
  return {rope.grid, move(rope.cos, 1.0), move(rope.sin, 0.0)};
}

// Moves the stream [.., .., D] from layout `from` to layout `to` ("Block schedule" per-block transforms):
// full → sparse: pad → layout; token ↔ group: the switch; sparse → full: reverse → crop.
at::Tensor change_layout(at::Tensor x, BlockKind from, BlockKind to, const sk::SkiparseGeometry& g) {
  if (from == to) return x;
  const profile::Scope scope(profile::OpKind::kLayout);
  if (from == BlockKind::kFull) {
    const at::Tensor padded = sk::pad(x, g);
    return to == BlockKind::kToken ? sk::to_token_layout(padded, g) : sk::to_group_layout(padded, g);
  }
  if (to == BlockKind::kFull) {
    return sk::crop(from == BlockKind::kToken ? sk::from_token_layout(x, g) : sk::from_group_layout(x, g), g);
  }
  return sk::switch_layout(x, g);
}

// "cuda" (no index) matches any CUDA device; otherwise type and index must agree.
bool same_device(const c10::Device& tensor, const c10::Device& model) {
  return tensor.type() == model.type() && (!model.has_index() || !tensor.has_index() || tensor.index() == model.index());
}

ParamOptions param_options(Precision precision, c10::Device device) {
  const auto base = at::TensorOptions().device(device);
  return {base.dtype(precision.compute()), base.dtype(at::kFloat)};
}

}  // namespace

HeadWeights::HeadWeights(const DiTConfig& config, const at::TensorOptions& fp32)
    : modulation(add_param("modulation", {1, 2, config.dim}, fp32)),
      head(register_module("head", std::make_shared<nn::LinearWeights>(
                                       config.dim, config.patch_volume() * config.out_dim, fp32))) {}

TimeProjectionWeights::TimeProjectionWeights(int64_t dim, const at::TensorOptions& fp32)
    : linear(register_module("1", std::make_shared<nn::LinearWeights>(dim, 6 * dim, fp32))) {}

PatchEmbeddingWeights::PatchEmbeddingWeights(const DiTConfig& c, const at::TensorOptions& compute)
    : weight(add_param("weight", {c.dim, c.in_dim, c.patch_size[0], c.patch_size[1], c.patch_size[2]}, compute)),
      bias(add_param("bias", {c.dim}, compute)) {}

WanDiT::WanDiT(DiTConfig config, Precision precision, c10::Device device)
    : config_(std::move(config)), schedule_(block_schedule(config_)), precision_(precision), device_(device) {
  const ParamOptions options = param_options(precision_, device_);
  const int64_t D = config_.dim;
  patch_embedding = register_module("patch_embedding", std::make_shared<PatchEmbeddingWeights>(config_, options.compute));
  text_embedding =
      register_module("text_embedding", std::make_shared<nn::TwoLinears>(config_.text_dim, D, D, options.compute));
  time_embedding =
      register_module("time_embedding", std::make_shared<nn::TwoLinears>(config_.freq_dim, D, D, options.fp32));
  time_projection = register_module("time_projection", std::make_shared<TimeProjectionWeights>(D, options.fp32));
  auto block_list = register_module("blocks", std::make_shared<torch::nn::Module>());
  for (int64_t n = 0; n < config_.num_layers; ++n) {
    blocks.push_back(
        block_list->register_module(std::to_string(n), std::make_shared<WanBlock>(config_, precision_, options)));
  }
  head = register_module("head", std::make_shared<HeadWeights>(config_, options.fp32));
  apply_quant_config(*this);  // config.quant: HIF8Linear on the OSP-Next layer set (docs/quantization.md "Quantized layer set")
}

void WanDiT::validate_inputs(const at::Tensor& x, const at::Tensor& t, const at::Tensor& context) const {
  const auto& c = config_;
  if (!x.defined() || x.dim() != 5 || x.size(1) != c.in_dim) {
    fail_about("x", "expected a latent [B, {}, F, H, W], got {}", c.in_dim, x.defined() ? shape_string(x.sizes()) : "none");
  }
  if (x.scalar_type() != at::kFloat) fail_about("x", "expected float32, got {}", c10::toString(x.scalar_type()));
  if (!same_device(x.device(), device_)) fail_about("x", "is on {}, the model on {}", x.device().str(), device_.str());
  const int64_t batch = x.size(0);
  static const char* const kAxis[3] = {"F", "H", "W"};
  for (int a = 0; a < 3; ++a) {
    const int64_t extent = x.size(2 + a);
    if (extent <= 0 || extent % c.patch_size[a] != 0) {
      fail_about("x", "{} = {} of {} is not a positive multiple of the patch size {}", kAxis[a], extent,
                 shape_string(x.sizes()), c.patch_size[a]);
    }
  }
  if (!t.defined() || t.dim() != 1 || t.size(0) != batch) {
    fail_about("t", "expected timesteps [{}] (one per sample of x {}), got {}", batch, shape_string(x.sizes()),
               t.defined() ? shape_string(t.sizes()) : "none");
  }
  if (t.is_complex() || t.scalar_type() == at::kBool) {
    fail_about("t", "expected a real dtype, got {}", c10::toString(t.scalar_type()));
  }
  if (!context.defined() || context.dim() != 3 || context.size(0) != batch || context.size(2) != c.text_dim) {
    fail_about("context", "expected text embeddings [{}, Lc ≤ {}, {}] (batch of x {}), got {}", batch, c.text_len,
               c.text_dim, shape_string(x.sizes()), context.defined() ? shape_string(context.sizes()) : "none");
  }
  if (context.size(1) > c.text_len) {
    fail_about("context", "{} has {} rows, more than text_len = {}", shape_string(context.sizes()), context.size(1),
               c.text_len);
  }
  if (context.scalar_type() != at::kFloat && context.scalar_type() != at::kBFloat16) {
    fail_about("context", "expected float32 or bfloat16, got {}", c10::toString(context.scalar_type()));
  }
  if (!same_device(context.device(), device_)) {
    fail_about("context", "is on {}, the model on {}", context.device().str(), device_.str());
  }
}

at::Tensor patchify(const at::Tensor& x, const std::array<int64_t, 3>& patch) {
  const int64_t B = x.size(0), C = x.size(1);
  const int64_t f = x.size(2) / patch[0], h = x.size(3) / patch[1], w = x.size(4) / patch[2];
  // [B, C, f, pt, h, ph, w, pw] → [B, f, h, w, C, pt, ph, pw]
  return x.reshape({B, C, f, patch[0], h, patch[1], w, patch[2]})
      .permute({0, 2, 4, 6, 1, 3, 5, 7})
      .reshape({B, f * h * w, C * patch[0] * patch[1] * patch[2]});
}

at::Tensor unpatchify(const at::Tensor& y, const std::array<int64_t, 3>& grid, const std::array<int64_t, 3>& patch,
                      int64_t channels) {
  const int64_t B = y.size(0);
  // [B, f, h, w, pt, ph, pw, C] → [B, C, f, pt, h, ph, w, pw] (fhwpqrc->cfphqwr, docs/dit.md "Forward pass" step 6)
  return y.reshape({B, grid[0], grid[1], grid[2], patch[0], patch[1], patch[2], channels})
      .permute({0, 7, 1, 4, 2, 5, 3, 6})
      .reshape({B, channels, grid[0] * patch[0], grid[1] * patch[1], grid[2] * patch[2]});
}

at::Tensor WanDiT::embed_patches(const at::Tensor& x) const {
  // "Forward pass" step 1: the Conv3d with kernel = stride = patch is a linear map of each patch. bf16
  // mode: bf16 input and weight, bf16 output ("Precision"); kept as bf16 values in float32 storage.
  const at::Tensor tokens = patchify(x, config_.patch_size);
  const at::Tensor weight = patch_embedding->weight.reshape({config_.dim, -1});
  return nn::linear(tokens, weight, patch_embedding->bias, precision_).to(at::kFloat);
}

std::pair<at::Tensor, at::Tensor> WanDiT::embed_time(const at::Tensor& t) const {
  // "Forward pass" step 2, all float32 ("Precision": explicit fp32 autocast region).
  const at::Tensor s = nn::sinusoidal_embedding(t.to(device_), config_.freq_dim);
  const auto& te = *time_embedding;
  const at::Tensor hidden = nn::silu(nn::linear(s, *te.first, kFp32));
  const at::Tensor e = nn::linear(hidden, *te.second, kFp32);
  const auto& proj = *time_projection->linear;
  const at::Tensor e0 = nn::linear(nn::silu(e), proj, kFp32).view({-1, 6, config_.dim});
  return {e, e0};
}

at::Tensor WanDiT::embed_text(const at::Tensor& context) const {
  // "Forward pass" step 3: zero rows up to text_len, Linear → GELU_tanh → Linear; bf16 in bf16 mode.
  const int64_t missing = config_.text_len - context.size(1);
  const at::Tensor padded = missing > 0 ? at::constant_pad_nd(context, {0, 0, 0, missing}, 0) : context;
  const auto& te = *text_embedding;
  at::Tensor hidden = nn::linear(padded, *te.first, precision_);
  nn::gelu_tanh_(hidden);
  return nn::linear(nn::prepare_gemm_input(hidden, precision_, true), *te.second, precision_);
}

at::Tensor WanDiT::apply_head(const at::Tensor& x, const at::Tensor& e) const {
  // "Forward pass" step 5: (h0, h1) = head.modulation[0] + e (e itself, no SiLU); float32.
  const at::Tensor h = head->modulation + e.unsqueeze(1);  // [B, 2, D]
  const at::Tensor normed = nn::modulated_layer_norm(x, h.select(1, 0), h.select(1, 1), config_.eps, false);
  return nn::linear(normed, *head->head, kFp32);
}

nn::RopeTable WanDiT::rope_table(const std::array<int64_t, 3>& grid) const {
  std::lock_guard<std::mutex> lock(rope_mutex_);
  auto it = rope_cache_.find(grid);
  if (it == rope_cache_.end()) {
    constexpr size_t kMaxCachedGrids = 8;
    if (rope_cache_.size() >= kMaxCachedGrids) rope_cache_.clear();
    // Normal tensors even when the first forward runs under InferenceMode: a later training
    // forward saves the table for its backward, which inference tensors refuse.
    c10::InferenceMode normal_tensors(false);
    nn::RopeTable table = nn::make_rope_table(config_.head_dim(), grid, config_.rope_max_seq_len);
    table.cos = table.cos.to(device_);
    table.sin = table.sin.to(device_);
    it = rope_cache_.emplace(grid, std::move(table)).first;
  }
  return it->second;
}

void WanDiT::check_step_cache(const ParallelHook* parallel) const {
  if (schedule_.empty() || schedule_.front() != BlockKind::kFull) {
    fail("step cache: block 0 must be a full-attention block (this DiT starts in its Skiparse region: num_full_blocks 0)");
  }
  if (parallel != nullptr || runner_ != nullptr || residency_ != nullptr) {
    fail("step cache: runs on one process with the DiT's blocks resident (not with sequence parallelism, sharded "
         "weights or streamed blocks)");
  }
}

at::Tensor WanDiT::forward(const at::Tensor& x, const at::Tensor& t, const at::Tensor& context,
                           ParallelHook* parallel) const {
  TextContext text(context);
  return forward(x, t, text, parallel);
}

at::Tensor WanDiT::forward(const at::Tensor& x, const at::Tensor& t, TextContext& context,
                           ParallelHook* parallel) const {
  validate_inputs(x, t, context.context());
  const auto& p = config_.patch_size;
  const std::array<int64_t, 3> grid = {x.size(2) / p[0], x.size(3) / p[1], x.size(4) / p[2]};
  const nn::RopeTable rope = rope_table(grid);

  SparseLayouts sparse;
  if (parallel) parallel->begin(grid, x.size(0), rope);
  if (config_.is_sparse() && !parallel) {
    const int64_t batch = x.size(0);
    sparse.geometry = sk::SkiparseGeometry::make(grid, config_.sparse_ratio);
    sparse.token_rope = layout_rope(rope, sparse.geometry, /*group=*/false);
    sparse.group_rope = layout_rope(rope, sparse.geometry, /*group=*/true);
    sparse.token_mask = sk::token_layout_mask(sparse.geometry, batch, device_);
    sparse.group_mask = sk::group_layout_mask(sparse.geometry, batch, device_);
  }

  at::Tensor stream = embed_patches(x);  // [B, L, D] float32 (bf16 values in bf16 mode)
  if (parallel) stream = parallel->scatter(stream);
  const auto [e, e0] = embed_time(t);
  const at::Tensor& text = context.embedded([&] { return embed_text(context.context()); });
  StepCache* const cache = context.step_cache();
  if (cache) check_step_cache(parallel);
  at::Tensor before_first, after_first;  // block 0's input and output, for the step cache
  BlockKind layout = BlockKind::kFull;
  for (size_t n = 0; n < blocks.size(); ++n) {
    // docs/skiparse.md "Block schedule": the input transform of block n (entry, switch, or the exit of the
    // previous group block when block n is full).
    const BlockKind kind = schedule_[n];
    stream = parallel ? parallel->change_layout(std::move(stream), layout, kind)
                      : change_layout(std::move(stream), layout, kind, sparse.geometry);
    layout = kind;
    const BlockTables tables =
        parallel ? parallel->tables(kind)
        : kind == BlockKind::kFull  ? BlockTables{rope, at::Tensor()}
        : kind == BlockKind::kToken ? BlockTables{sparse.token_rope, sparse.token_mask}
                                    : BlockTables{sparse.group_rope, sparse.group_mask};
    if (parallel) parallel->before_block(static_cast<int64_t>(n), kind);
    // Only block 0 sees a bf16 stream: after its first residual add the stream is float32 (docs/dit.md "Precision").
    const bool round_norm1 = precision_.reduced() && n == 0;
    if (cache && n == 0) before_first = stream.clone();  // the block reuses its input's storage
    if (residency_) residency_->acquire(static_cast<int64_t>(n));
    if (runner_) {
      stream = runner_->run(*blocks[n], static_cast<int64_t>(n), std::move(stream),
                            BlockInputs{e0, text, tables, round_norm1, parallel, kind});
    } else {
      const CrossKV& text_kv = context.block_kv(n, [&] { return blocks[n]->cross_kv(text); });
      stream = blocks[n]->forward(std::move(stream), e0, text_kv, tables.rope, round_norm1, tables.key_mask, parallel);
    }
    if (residency_) residency_->release(static_cast<int64_t>(n));
    if (parallel) parallel->after_block(static_cast<int64_t>(n), kind);
    if (cache && n == 0) {
      // docs/dit.md "Step cache": block 0 barely changed its residual since the stored step, so
      // blocks 1 … L−1 would add about what they added then.
      if (cache->can_skip(before_first, stream)) {
        stream = cache->skip(stream);
        break;
      }
      after_first = stream.clone();
    }
  }
  // docs/skiparse.md "Block schedule": the last group block's output transform (F = 0: the model ends in the sparse region).
  stream = parallel ? parallel->change_layout(std::move(stream), layout, BlockKind::kFull)
                    : change_layout(std::move(stream), layout, BlockKind::kFull, sparse.geometry);
  if (after_first.defined()) cache->store(after_first, stream);
  at::Tensor out = apply_head(stream, e);
  if (parallel) out = parallel->gather(out);
  return unpatchify(out, grid, p, config_.out_dim);
}

}  // namespace osp::dit
