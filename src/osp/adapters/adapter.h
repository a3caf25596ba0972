#pragma once
// One adapter (a LoRA file, or a LoRA being trained) bound to a model's linear layers
// (docs/lora.md). Per adapted linear y = x·Wᵀ + b it adds scale·((x·Aᵀ)·Bᵀ + x·Dᵀ + d), where
// scale = (alpha / rank, or 1 without alpha) × the user's scale. Two ways to apply it:
//   - runtime: attach() puts the deltas on the layers' adapter lists (nn/linear_adapter.h), they
//     run beside every base GEMM; detach() takes them off again; set_enabled(false) bypasses them
//     without detaching (the RL reference policy);
//   - merged: merge_into() adds scale·B·A (+ scale·D, + scale·d to the bias) into the weights,
//     computed in float32 and cast to the stored dtype; unmerge_from() subtracts it again.
// Both check the whole adapter against the model first (check_fits): nothing is half-applied.
#include <torch/nn/module.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "osp/io/lora_file.h"
#include "osp/nn/linear_adapter.h"

namespace osp::adapters {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

class Adapter {
 public:
  struct Entry {
    std::string module;      // canonical module name, e.g. "blocks.3.self_attn.q"
    std::string source_key;  // a key of the file it came from (messages)
    std::shared_ptr<nn::LinearAdapter> delta;
  };

  Adapter() = default;
  // The modules of `file`, each scaled by its own alpha / rank and by `user_scale`.
  Adapter(const io::LoraFile& file, double user_scale);

  // osp::Error naming the first module that the model lacks or whose shapes differ (with both
  // shapes), e.g. a LoRA for the 1.3B model applied to the 14B one.
  void check_fits(torch::nn::Module& model) const;

  void attach(torch::nn::Module& model);
  void detach(torch::nn::Module& model);
  void set_enabled(bool enabled);

  void merge_into(torch::nn::Module& model) const;
  void unmerge_from(torch::nn::Module& model) const;

  const std::vector<Entry>& entries() const { return entries_; }
  std::vector<Entry>& entries() { return entries_; }
  // Number of adapter values (A, B, D, d elements).
  int64_t parameter_count() const;

 private:
  void apply_to_weights(torch::nn::Module& model, double sign) const;
  std::vector<Entry> entries_;
};

// osp::Error naming the entry's file key, the module and both shapes when its tensors do not fit
// a linear [out, in] (with a bias or not).
void check_entry_fits(const Adapter::Entry& entry, int64_t out, int64_t in, bool has_bias);

// scale·(B·A + D) of one delta as a float32 [out, in] tensor (undefined when it has neither).
at::Tensor weight_delta(const nn::LinearAdapter& delta);

// W + Σ weight_delta, computed in float32 and cast to W's dtype (merge-lora, merged mode).
at::Tensor merged_weight(const at::Tensor& weight, const std::vector<const nn::LinearAdapter*>& deltas);
// b + Σ scale·d likewise (a bias without any bias delta comes back unchanged).
at::Tensor merged_bias(const at::Tensor& bias, const std::vector<const nn::LinearAdapter*>& deltas);

}  // namespace osp::adapters
