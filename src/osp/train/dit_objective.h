#pragma once
// The DiT's training objective (docs/sampling.md "Training noise schedule"): flow matching on cached
// latents with the logit-normal σ and the dynamic shift of the latent size, target ε − x0, and
// caption dropout to the empty caption's context (classifier-free guidance training). The model is
// the same WanDiT::forward as inference, differentiable, with its Skiparse schedule active.
#include <functional>
#include <memory>
#include <optional>
#include <set>

#include "osp/adapters/adapter.h"

#include "osp/models/dit/model.h"
#include "osp/nn/random_init.h"
#include "osp/train/objective.h"
#include "osp/train/sample_source.h"
#include "osp/train/train_config.h"

namespace osp::train {

class DiTObjective : public Objective {
 public:
  // Builds the model (random init from init_seed, or model.weights), parameters float32.
  DiTObjective(const TrainConfig& config, std::unique_ptr<SampleSource> data);

  nn::ParamModule& module() override { return *model_; }
  int64_t data_size() const override { return data_->size(); }
  at::Tensor loss(const std::vector<SampleRef>& samples) override;
  // With a `lora:` section: the DiT config, plus the LoRA spec and the base's identity (path and
  // content hash, so that resuming on other base weights is refused).
  nlohmann::json model_config() override;
  std::vector<std::pair<std::string, at::Tensor>> trained_tensors() override;
  std::map<std::string, std::string> checkpoint_files() const override;
  std::string describe() const override;

  dit::WanDiT& model() { return *model_; }
  // The model's forward runs through `hook` from now on (sequence-parallel training; nullptr: one
  // process). The hook must outlive its use.
  void set_parallel(dit::ParallelHook* hook) { parallel_ = hook; }
  // Fully sharded runs leave the model's parameters unwritten (allocated, never touched, so not
  // resident): the trainer's strategy takes each tensor's initial values from
  // stream_initial_weights, one tensor at a time, so no rank ever holds the whole model.
  bool streams_initial_weights() const { return !base_params_.empty(); }
  // The names of the tensors whose values arrive that way (none when not streamed).
  std::set<std::string> streamed_names() const;
  // The values the eager build would have given the parameters, in order: drawn from init_seed
  // (dit::randomize_weights) or read from model.weights (dit::for_each_checkpoint_weight).
  void stream_initial_weights(const std::function<void(const std::string&, const at::Tensor&)>& visit) const;

 private:
  void attach_lora();

  TrainConfig config_;
  std::unique_ptr<SampleSource> data_;
  std::unique_ptr<dit::WanDiT> model_;
  dit::ParallelHook* parallel_ = nullptr;
  nn::NamedValues base_params_;  // streamed: the base model's parameter shapes (meta tensors), before any LoRA
  at::Tensor null_context_;  // [text_len, text_dim]
  std::optional<adapters::Adapter> lora_;  // the trained adapter (LoRA runs), attached to model_
  nlohmann::json base_identity_;          // {"path", "sha256"} of the frozen base (LoRA runs)
};

}  // namespace osp::train
