#pragma once
// The three models of a text-to-video bundle behind the library API, either held for the
// pipeline's life (MemoryPolicy::kResident) or loaded for a stage and released after it
// (kPerStage), counted so that a test can see that a request did no loading.
#include <memory>
#include <vector>

#include "osp/adapters/apply.h"
#include "osp/adapters/lora_spec.h"
#include "osp/core/precision.h"
#include "osp/models/dit/model.h"
#include "osp/models/t5/encoder.h"
#include "osp/models/t5/tokenizer.h"
#include "osp/models/vae/model.h"
#include "osp/pipeline.h"
#include "osp/pipeline/bundle.h"

namespace osp::api {

struct ComponentSettings {
  Precision precision{PrecisionMode::kBf16};
  c10::Device device = c10::kCPU;
  std::string quant;
  MemoryPolicy memory = MemoryPolicy::kResident;
  bool shardable_dit = false;  // the DiT's weights will be sharded across ranks (normal tensors)
  std::vector<adapters::LoraSpec> loras;  // applied to the DiT at every load
  adapters::LoraMode lora_mode = adapters::LoraMode::kMerged;
};

// The library's component paths as the bundle resolver's overrides.
pipeline::ComponentOverrides component_overrides(const ComponentPaths& paths);

class Components {
 public:
  Components(pipeline::ModelBundle bundle, ComponentSettings settings);

  const pipeline::ModelBundle& bundle() const { return bundle_; }
  // The DiT's and the VAE's configs, read from their files without loading any weights.
  const dit::DiTConfig& dit_config() const { return dit_config_; }
  const vae::VaeConfig& vae_config() const { return vae_config_; }
  const ComponentSettings& settings() const { return settings_; }
  const t5::Tokenizer& tokenizer();
  // The models; under kPerStage each is loaded on first use and dropped by release().
  t5::T5Encoder& text_encoder();
  dit::WanDiT& dit();
  vae::WanVAE& vae();
  // kPerStage: frees the component after its stage; kResident: nothing.
  void release_text_encoder();
  void release_dit();
  void release_vae();
  int64_t loads() const { return loads_; }
  double take_load_seconds();  // load time since the last call

 private:
  template <typename Load>
  auto timed_load(Load&& load);

  pipeline::ModelBundle bundle_;
  ComponentSettings settings_;
  dit::DiTConfig dit_config_;
  vae::VaeConfig vae_config_;
  std::unique_ptr<t5::Tokenizer> tokenizer_;
  std::unique_ptr<t5::T5Encoder> text_encoder_;
  std::unique_ptr<dit::WanDiT> dit_;
  std::unique_ptr<vae::WanVAE> vae_;
  std::vector<adapters::LoadedLora> loras_;  // settings_.loras, read
  int64_t loads_ = 0;
  double load_seconds_ = 0;
};

}  // namespace osp::api
