#pragma once
// What `osp train` trains: the trainer (trainer.h) owns the optimizer, EMA,
// data order, data parallelism, checkpoints and logs; an objective owns the model and computes the
// loss of a list of samples. Two objectives: the DiT's flow matching (dit_objective.h) and the
// VAE's reconstruction L1 + KL (vae_objective.h).
#include <ATen/ATen.h>

#include <nlohmann/json.hpp>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "osp/nn/param_module.h"

namespace osp::train {

// One training sample of a micro-batch: its index in the data, and its serial number in the run
// (the key of its random draws, sample_random.h).
struct SampleRef {
  int64_t index = 0;
  int64_t serial = 0;
};

class Objective {
 public:
  virtual ~Objective() = default;
  // The trained module: its named_parameters() are the checkpoint's tensor names.
  virtual nn::ParamModule& module() = 0;
  // Number of samples of the data (the trainer shuffles their indices).
  virtual int64_t data_size() const = 0;
  // The mean loss over `samples` (this rank's share of a micro-batch), graph recorded.
  virtual at::Tensor loss(const std::vector<SampleRef>& samples) = 0;
  // The model's architecture config; a checkpoint resumes only into the same one.
  virtual nlohmann::json model_config() = 0;
  // The config.json a checkpoint stores (the folder then loads as that model); by default the
  // architecture config, extended by objectives that measure more (the VAE's latent statistics).
  virtual nlohmann::json checkpoint_config() { return model_config(); }
  // The tensors the trainer owns: optimized (unless frozen), averaged by the EMA and saved in
  // checkpoints under these names. By default every parameter of module(); a LoRA run returns
  // only its adapter's tensors (the base stays out of the optimizer, the EMA and checkpoints).
  virtual std::vector<std::pair<std::string, at::Tensor>> trained_tensors() {
    std::vector<std::pair<std::string, at::Tensor>> out;
    for (const auto& item : module().named_parameters()) out.emplace_back(item.key(), item.value());
    return out;
  }
  // Files a checkpoint folder holds besides the tensors (name → contents).
  virtual std::map<std::string, std::string> checkpoint_files() const { return {}; }
  // Parameters the run keeps fixed (no gradient, no update; still in checkpoints and the EMA).
  virtual bool frozen(const std::string& /*parameter*/) const { return false; }
  // "wan dit 1.3M parameters, cached manifest of 6000 samples": for the start-up log line.
  virtual std::string describe() const = 0;
};

}  // namespace osp::train
