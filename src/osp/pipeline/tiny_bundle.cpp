#include "osp/pipeline/tiny_bundle.h"

#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <utility>

#include "osp/core/error.h"
#include "osp/io/atomic_file.h"
#include "osp/io/safetensors_writer.h"
#include "osp/io/tensor_source.h"
#include "osp/models/dit/loader.h"
#include "osp/models/dit/model.h"
#include "osp/models/dit/random_weights.h"
#include "osp/models/t5/encoder.h"
#include "osp/models/t5/random_weights.h"
#include "osp/models/t5/tokenizer.h"
#include "osp/models/t5/tokenizer_training.h"
#include "osp/models/vae/model.h"
#include "osp/models/vae/loader.h"
#include "osp/models/vae/random_weights.h"
#include "osp/pipeline/text_to_video.h"
#include "osp/pipeline/tiny_corpus.h"

namespace osp::pipeline {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// Components' seeds: splitmix64 of (seed, component), so that the components' streams differ and
// changing one component's size leaves the others' weights as they were.
uint64_t component_seed(uint64_t seed, uint64_t component) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (component + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Empty, missing, or allowed to be written into.
void prepare_directory(const fs::path& dir, bool overwrite) {
  if (fs::exists(dir)) {
    if (!fs::is_directory(dir)) fail_about(dir.string(), "exists and is not a directory");
    if (!fs::is_empty(dir) && !overwrite) {
      fail_about(dir.string(), "directory is not empty (pass --force to write the bundle into it anyway)");
    }
  }
  for (const char* sub : {"tokenizer", "text_encoder", "dit", "vae"}) fs::create_directories(dir / sub);
}

class BundleWriter {
 public:
  BundleWriter(fs::path dir, uint64_t seed) : dir_(std::move(dir)), seed_(seed) {}

  void bytes(const std::string& relative, const std::string& data) {
    io::write_file_atomically((dir_ / relative).string(), data);
    record(relative);
  }
  void json_file(const std::string& relative, const json& j) { bytes(relative, j.dump(2) + "\n"); }
  void weights(const std::string& relative, const NamedTensors& tensors, at::ScalarType dtype) {
    NamedTensors stored;
    for (const auto& [name, tensor] : tensors) stored.emplace_back(name, tensor.to(dtype));
    const std::map<std::string, std::string> metadata = {
        {"format", "pt"}, {"osp_tiny_bundle", fmt::format("random weights, seed {}", seed_)}};
    io::write_safetensors((dir_ / relative).string(), stored, metadata);
    record(relative);
  }
  const std::vector<WrittenFile>& written() const { return written_; }
  const fs::path& dir() const { return dir_; }

 private:
  void record(const std::string& relative) {
    written_.push_back({relative, static_cast<int64_t>(fs::file_size(dir_ / relative))});
  }
  fs::path dir_;
  uint64_t seed_;
  std::vector<WrittenFile> written_;
};

NamedTensors parameters_of(const torch::nn::Module& module) {
  NamedTensors out;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) out.emplace_back(item.key(), item.value());
  return out;
}

// The tokenizer; returns its vocabulary size.
int64_t write_tokenizer(BundleWriter& out, const RandomBundleSpec& spec) {
  out.bytes("tokenizer/spiece.model", spec.tokenizer ? spec.tokenizer()
                                                     : t5::train_t5_sentencepiece(tiny_caption_corpus(), kTinyVocabSize));
  return t5::Tokenizer((out.dir() / "tokenizer").string()).vocab_size();
}

void write_text_encoder(BundleWriter& out, const t5::T5Config& config, uint64_t seed,
                        const std::function<void(t5::T5Encoder&)>& shape) {
  t5::T5Encoder encoder(config, Precision{});
  t5::randomize_t5_weights(encoder, seed);
  if (shape) shape(encoder);
  NamedTensors tensors;
  for (const auto& [name, slot] : encoder.weights().named_slots()) tensors.emplace_back(name, *slot);
  out.weights("text_encoder/model.safetensors", tensors, at::kBFloat16);
  out.json_file("text_encoder/config.json", config.to_json());
}

void write_dit(BundleWriter& out, const dit::DiTConfig& config, uint64_t seed,
               const std::optional<TrainedComponent>& trained) {
  dit::WanDiT model(config, Precision{});
  if (trained) {
    dit::load_weights(model, *io::open_tensor_source(trained->weights));
  } else {
    dit::randomize_weights_unit_gain(model, seed);
  }
  out.weights("dit/diffusion_pytorch_model.safetensors", parameters_of(model), at::kBFloat16);
  out.json_file("dit/config.json", config.to_json());
}

void write_vae(BundleWriter& out, const vae::VaeConfig& config, uint64_t seed,
               const std::optional<TrainedComponent>& trained) {
  vae::WanVAE model(config);
  if (trained) {
    vae::load_weights(model, *io::open_tensor_source(trained->weights));
  } else {
    vae::randomize_weights(model, seed);
  }
  out.weights("vae/diffusion_pytorch_model.safetensors", parameters_of(model), at::kBFloat16);
  out.json_file("vae/config.json", config.to_json());
}

json defaults_json(const BundleDefaults& d) {
  json j = {{"width", *d.width},   {"height", *d.height},     {"frames", *d.frames},   {"steps", *d.steps},
            {"shift", *d.shift},   {"guidance", *d.guidance}, {"sampler", *d.sampler}, {"fps", *d.fps}};
  if (d.negative_prompt) j["negative_prompt"] = *d.negative_prompt;
  return j;
}

json bundle_config(const RandomBundleSpec& spec) {
  const auto component = [](const std::string& name) {
    return json{{"path", name}, {"config", name + "/config.json"}};
  };
  return {{"_class_name", "OspNextBundle"},
          {"_about", spec.about},
          {"dit", component("dit")},
          {"text_encoder", component("text_encoder")},
          {"tokenizer", "tokenizer"},
          {"vae", component("vae")},
          {"defaults", defaults_json(spec.defaults)}};
}

}  // namespace

t5::T5Config tiny_text_encoder_config(int64_t vocab_size) {
  t5::T5Config c;
  c.vocab_size = vocab_size;
  c.d_model = 64;
  c.d_kv = 32;
  c.num_heads = 2;
  c.d_ff = 128;
  c.num_layers = 2;
  c.text_len = 512;  // the DiT's text_len (docs/text-encoder.md "Tokenizer")
  c.validate();
  return c;
}

vae::VaeConfig tiny_vae_config() {
  vae::VaeConfig c = vae::VaeConfig::wan21();  // 4 levels: 8× space, 4× time, as in Wan 2.1
  c.base_dim = 8;
  c.z_dim = 8;
  c.num_res_blocks = 1;
  // Random weights give latents of unit scale: no normalization.
  c.latents_mean.assign(static_cast<size_t>(c.z_dim), 0.0);
  c.latents_std.assign(static_cast<size_t>(c.z_dim), 1.0);
  c.validate();
  return c;
}

dit::DiTConfig tiny_dit_config(const t5::T5Config& text_encoder, const vae::VaeConfig& vae) {
  dit::DiTConfig c;
  c.dim = 64;
  c.ffn_dim = 128;
  c.num_heads = 2;
  c.num_layers = 8;
  c.in_dim = vae.z_dim;
  c.out_dim = vae.z_dim;
  c.text_dim = text_encoder.d_model;
  c.text_len = text_encoder.text_len;
  // OSP-Next schedule (docs/skiparse.md "Block schedule") at the smallest size that has every block kind:
  // dual_end needs F a multiple of 4 and F ≤ L/2, so 8 layers with 4 full blocks (0, 1, 6, 7)
  // around token/group blocks 2–5, stride P = 2.
  c.skiparse_model_type = "dual_end";
  c.sparse_ratio = 2;
  c.num_full_blocks = 4;
  c.validate();
  return c;
}

BundleDefaults tiny_bundle_defaults() {
  BundleDefaults d;
  d.width = 64;
  d.height = 64;
  d.frames = 17;
  d.steps = 8;
  d.shift = 5.0;
  d.guidance = 5.0;
  d.sampler = "unipc";
  d.fps = 16;
  return d;
}

RandomBundleSpec tiny_bundle_spec() {
  RandomBundleSpec spec;
  spec.text_encoder = &tiny_text_encoder_config;
  spec.vae = tiny_vae_config();
  spec.dit = &tiny_dit_config;
  spec.defaults = tiny_bundle_defaults();
  spec.about = "Tiny random-weights text-to-video bundle written by `osp init-bundle` for smoke tests: its videos are "
               "noise-like patterns, not pictures of the prompt.";
  return spec;
}

std::vector<WrittenFile> write_random_bundle(const std::string& dir, const RandomBundleSpec& spec,
                                             const TinyBundleOptions& options) {
  c10::InferenceMode guard;
  prepare_directory(dir, options.overwrite);
  BundleWriter out(dir, options.seed);
  const int64_t vocab_size = write_tokenizer(out, spec);
  const t5::T5Config text_encoder = spec.text_encoder(vocab_size);
  write_text_encoder(out, text_encoder, component_seed(options.seed, 0), spec.shape_text_encoder);
  const dit::DiTConfig dit = spec.trained_dit ? dit::DiTConfig::from_file(spec.trained_dit->config)
                                              : spec.dit(text_encoder, spec.vae);
  const vae::VaeConfig vae = spec.trained_vae ? vae::VaeConfig::from_file(spec.trained_vae->config) : spec.vae;
  check_components_fit(dit, text_encoder, vae);
  write_dit(out, dit, component_seed(options.seed, 1), spec.trained_dit);
  write_vae(out, vae, component_seed(options.seed, 2), spec.trained_vae);
  RandomBundleSpec described = spec;
  described.about += fmt::format(" (seed {})", options.seed);
  out.json_file("config.json", bundle_config(described));  // last: names only complete files
  return out.written();
}

std::vector<WrittenFile> write_tiny_bundle(const std::string& dir, const TinyBundleOptions& options) {
  return write_random_bundle(dir, tiny_bundle_spec(), options);
}

}  // namespace osp::pipeline
