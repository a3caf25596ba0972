#pragma once
// One text context of a generation with what the DiT derives from it: the embedded text
// (docs/dit.md "Forward pass" step 3) and every block's cross-attention keys/values ("Attention block" step 4). Both
// depend only on the prompt and the layer, never on x or t, so a sampling loop that passes the
// same TextContext to every step computes them on the first step and reuses them after: per step
// and branch this saves layers × two [text_len × D]·[D × D] projections plus the text MLP.
//
// Entries are filled on first use inside WanDiT::forward (not up front), so that a block whose
// weights are gathered just before it runs (weight sharding, osp::parallel) computes its keys and
// values while its weights are present.
#include <ATen/ATen.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "osp/models/dit/block.h"
#include "osp/models/dit/step_cache.h"

namespace osp::dit {

class TextContext {
 public:
  // `context` [B, Lc ≤ text_len, text_dim]: the text encoder's output. `reuse` false recomputes
  // everything on every forward (the uncached baseline of `osp bench generate`).
  explicit TextContext(at::Tensor context, bool reuse = true);

  const at::Tensor& context() const { return context_; }

  // The cached value, or `compute()` (stored when reuse is on).
  const at::Tensor& embedded(const std::function<at::Tensor()>& compute);
  const CrossKV& block_kv(size_t block, const std::function<CrossKV()>& compute);

  // How many block key/value pairs were computed and how many were served from the cache.
  int64_t kv_computed() const { return kv_computed_; }
  int64_t kv_reused() const { return kv_reused_; }

  // From now on the forwards given this context may skip blocks 1 … L−1 (step_cache.h): the
  // context is the one thing a sampling loop keeps per branch across its steps.
  void enable_step_cache(double threshold) { step_cache_.emplace(threshold); }
  StepCache* step_cache() { return step_cache_ ? &*step_cache_ : nullptr; }

 private:
  at::Tensor context_;
  bool reuse_;
  std::optional<at::Tensor> embedded_;
  std::vector<std::optional<CrossKV>> kv_;
  int64_t kv_computed_ = 0;
  int64_t kv_reused_ = 0;
  std::optional<StepCache> step_cache_;
};

}  // namespace osp::dit
