#include "osp/api/components.h"

#include <c10/core/InferenceMode.h>

#include <chrono>

#include "osp/models/dit/loader.h"
#include "osp/models/dit/quantization.h"
#include "osp/models/t5/loader.h"
#include "osp/models/vae/loader.h"
#include "osp/pipeline/prompt_encoding.h"

namespace osp::api {

pipeline::ComponentOverrides component_overrides(const ComponentPaths& paths) {
  pipeline::ComponentOverrides o;
  o.dit = paths.dit;
  o.dit_config = paths.dit_config;
  o.text_encoder = paths.text_encoder;
  o.text_encoder_config = paths.text_encoder_config;
  o.tokenizer = paths.tokenizer;
  o.tokenizer_config = paths.tokenizer_config;
  o.vae = paths.vae;
  o.vae_config = paths.vae_config;
  return o;
}

Components::Components(pipeline::ModelBundle bundle, ComponentSettings settings)
    : bundle_(std::move(bundle)), settings_(std::move(settings)) {
  // Read (and rejected) once, here, whatever the memory policy; applied at every DiT load.
  loras_ = adapters::load_loras(settings_.loras);
  dit_config_ = dit::DiTConfig::from_file(dit::find_config(bundle_.dit.path, bundle_.dit.config));
  const io::ComponentFiles vae_paths = vae::resolve_vae_paths(bundle_.vae.path, bundle_.vae.config);
  vae_config_ = vae::read_vae_config(vae_paths);
  if (settings_.memory == MemoryPolicy::kResident) {
    tokenizer();
    text_encoder();
    dit();
    vae();
  }
}

template <typename Load>
auto Components::timed_load(Load&& load) {
  const auto start = std::chrono::steady_clock::now();
  auto loaded = load();
  load_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ++loads_;
  return loaded;
}

const t5::Tokenizer& Components::tokenizer() {
  if (!tokenizer_) {
    tokenizer_ = std::make_unique<t5::Tokenizer>(bundle_.tokenizer.path, pipeline::text_encoder_text_len(bundle_));
  }
  return *tokenizer_;
}

t5::T5Encoder& Components::text_encoder() {
  if (!text_encoder_) {
    text_encoder_ = timed_load([&] {
      return t5::load_t5_encoder(bundle_.text_encoder.path, bundle_.text_encoder.config, settings_.precision,
                                 settings_.device);
    });
  }
  return *text_encoder_;
}

dit::WanDiT& Components::dit() {
  if (!dit_) {
    dit_ = timed_load([&] {
      // Weight sharding later replaces the parameters' storage in place, which inference tensors
      // (loaded under the caller's InferenceMode) do not allow: load normal tensors for it.
      const c10::InferenceMode normal_tensors(!settings_.shardable_dit && c10::InferenceMode::is_enabled());
      auto model = dit::load_dit(bundle_.dit.path, bundle_.dit.config, settings_.precision, settings_.device,
                                 dit::quant_flag_override(settings_.quant));
      if (!loras_.empty()) adapters::apply_loras(*model, loras_, settings_.lora_mode);
      return model;
    });
  }
  return *dit_;
}

vae::WanVAE& Components::vae() {
  if (!vae_) vae_ = timed_load([&] { return vae::load_vae(bundle_.vae.path, bundle_.vae.config, settings_.device); });
  return *vae_;
}

void Components::release_text_encoder() {
  if (settings_.memory == MemoryPolicy::kPerStage) text_encoder_.reset();
}

void Components::release_dit() {
  if (settings_.memory == MemoryPolicy::kPerStage) dit_.reset();
}

void Components::release_vae() {
  if (settings_.memory == MemoryPolicy::kPerStage) vae_.reset();
}

double Components::take_load_seconds() {
  const double seconds = load_seconds_;
  load_seconds_ = 0;
  return seconds;
}

}  // namespace osp::api
