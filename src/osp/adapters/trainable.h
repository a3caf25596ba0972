#pragma once
// A fresh LoRA to train (docs/lora.md "Training"): rank r, alpha, the target modules, and the
// initialisation. "gaussian" (PEFT's init_lora_weights="gaussian", OSP-Next's choice): A ~ N(0,
// (1/r)²), B = 0. "kaiming" (PEFT's default): A ~ U(−1/√in, 1/√in), B = 0. Either way B = 0, so
// the adapted model equals the base model exactly before the first update.
#include <ATen/core/Generator.h>
#include <torch/nn/module.h>

#include <string>
#include <vector>

#include "osp/adapters/adapter.h"

namespace osp::adapters {

struct LoraTrainingSpec {
  int64_t rank = 32;
  double alpha = 64;
  // Module-name suffixes: a module is adapted when its name is a target or ends with "." + target.
  std::vector<std::string> targets = default_targets();
  std::string init = "gaussian";  // "gaussian" | "kaiming"

  // q, k, v and o of self- and cross-attention in every block (OSP-Next's RL targets).
  static std::vector<std::string> default_targets();
  // osp::Error naming "<prefix>.<field>" for rank < 1, non-finite or non-positive alpha, an
  // empty target list or an unknown init.
  void validate(const std::string& prefix = "lora") const;
};

// True when `module` (a canonical module name) is selected by `targets`.
bool is_target(const std::string& module, const std::vector<std::string>& targets);

// A new adapter on every linear of `model` selected by spec.targets, float32 tensors requiring
// grad, initialised from `generator`, scale alpha / rank. osp::Error when no linear matches (naming
// the targets), before anything is created.
Adapter make_trainable_lora(torch::nn::Module& model, const LoraTrainingSpec& spec, at::Generator generator);

// The adapter's trainable tensors under PEFT names (`base_model.model.<module>.lora_A.weight`,
// `.lora_B.weight`): what an optimizer, an EMA and a checkpoint hold, and what an adapter file
// stores. The tensors are the adapter's own (updates are seen by the model).
NamedTensors peft_tensors(const Adapter& adapter);

// The adapter_config.json of a trained LoRA (r, lora_alpha, target_modules, init_lora_weights).
nlohmann::json adapter_config(const LoraTrainingSpec& spec);

// `tensors` (PEFT names as peft_tensors makes them, e.g. EMA copies) as an adapter file with a
// uniform alpha, ready for io::write_lora_file.
io::LoraFile lora_file_from(const NamedTensors& tensors, const LoraTrainingSpec& spec);

}  // namespace osp::adapters
