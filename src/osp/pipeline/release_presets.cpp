#include "osp/pipeline/release_presets.h"

#include <filesystem>

#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/core/progress.h"
#include "osp/core/timer.h"
#include "osp/io/atomic_file.h"
#include "osp/io/pth_writer.h"
#include "osp/io/safetensors_writer.h"
#include "osp/models/dit/random_weights.h"
#include "osp/models/t5/random_weights.h"
#include "osp/models/t5/tokenizer_training.h"
#include "osp/models/vae/random_weights.h"
#include "osp/pipeline/tiny_corpus.h"

namespace osp::pipeline {
namespace {

namespace fs = std::filesystem;

// The release file names (docs/design.md "Input formats").
constexpr const char* kTextEncoderFile = "models_t5_umt5-xxl-enc-bf16.pth";
constexpr const char* kVaeFile = "Wan2.1_VAE.pth";
constexpr const char* kTokenizerDir = "google/umt5-xxl";

bool is_osp_next(const std::string& preset) { return preset.rfind("osp-next", 0) == 0; }

// Names and shapes as tensors without storage, the form the random-weight streams take.
nn::NamedValues shapes_only(const std::vector<std::pair<std::string, std::vector<int64_t>>>& shapes) {
  nn::NamedValues out;
  for (const auto& [name, shape] : shapes) out.emplace_back(name, at::empty(shape, at::TensorOptions(c10::kMeta)));
  return out;
}

class PresetWriter {
 public:
  PresetWriter(fs::path dir, uint64_t seed) : dir_(std::move(dir)), seed_(seed) {}

  void text(const std::string& relative, const std::string& bytes) {
    io::write_file_atomically((dir_ / relative).string(), bytes);
    record(relative);
  }
  // Streams `count` tensors from `each` (which calls its visitor once per tensor) into a torch zip.
  template <typename Each>
  void pth(const std::string& relative, io::PthLayout layout, const std::string& prefix, at::ScalarType dtype,
           int64_t count, Each&& each) {
    StageTimer timer("write " + relative);
    io::PthWriter writer((dir_ / relative).string(), std::move(layout));
    Progress progress(relative, count);
    each([&](const std::string& name, const at::Tensor& values) {
      writer.append(prefix + name, values.to(dtype));
      progress.step();
    });
    writer.finish();
    progress.finish();
    record(relative);
    timer.done();
  }
  template <typename Each>
  void safetensors(const std::string& relative, const std::vector<std::pair<std::string, std::vector<int64_t>>>& shapes,
                   io::DType dtype, Each&& each) {
    StageTimer timer("write " + relative);
    std::vector<io::TensorDecl> decls;
    for (const auto& [name, shape] : shapes) decls.push_back({name, dtype, shape});
    io::SafetensorsWriter writer((dir_ / relative).string(), decls,
                                 {{"format", "pt"}, {"osp_release_preset", fmt::format("random weights, seed {}", seed_)}});
    Progress progress(relative, static_cast<int64_t>(shapes.size()));
    each([&](const std::string& name, const at::Tensor& values) {
      writer.append(name, values);
      progress.step();
    });
    writer.finish();
    progress.finish();
    record(relative);
    timer.done();
  }
  uint64_t seed() const { return seed_; }
  const fs::path& dir() const { return dir_; }
  const std::vector<WrittenFile>& written() const { return written_; }

 private:
  void record(const std::string& relative) {
    written_.push_back({relative, static_cast<int64_t>(fs::file_size(dir_ / relative))});
  }
  fs::path dir_;
  uint64_t seed_;
  std::vector<WrittenFile> written_;
};

void write_text_encoder(PresetWriter& out, const ReleasePresetOptions& o) {
  t5::T5Config config = t5::T5Config::umt5_xxl();
  if (o.text_layers > 0) config.num_layers = o.text_layers;
  if (o.text_vocab > 0) config.vocab_size = o.text_vocab;
  const auto shapes = config.expected_tensor_shapes();
  out.pth(kTextEncoderFile, {}, "", at::kBFloat16, static_cast<int64_t>(shapes.size()), [&](const auto& visit) {
    t5::for_each_random_t5_weight(config, out.seed() + 1, visit);
  });
}

void write_vae(PresetWriter& out) {
  const vae::WanVAE model(vae::VaeConfig::wan21());  // parameters allocated, never written: not resident
  nn::NamedValues params;
  for (const auto& item : model.named_parameters(/*recurse=*/true)) params.emplace_back(item.key(), item.value());
  out.pth(kVaeFile, {}, "", at::kFloat, static_cast<int64_t>(params.size()), [&](const auto& visit) {
    vae::for_each_random_weight(params, out.seed() + 2, visit);
  });
}

void write_dit(PresetWriter& out, const dit::DiTConfig& config, const std::string& preset) {
  const auto shapes = config.expected_tensor_shapes();
  const nn::NamedValues params = shapes_only(shapes);
  const auto each = [&](const auto& visit) { dit::for_each_random_weight(params, out.seed(), visit); };
  if (is_osp_next(preset)) {
    // OSP-Next's FSDP checkpoint: the wrapped module's state dict beside the training step.
    io::PthLayout layout{"model", {{"step", int64_t{0}}, {"lr", 0.0}}};
    out.pth("model.pt", layout, "_fsdp_wrapped_module.", at::kBFloat16, static_cast<int64_t>(shapes.size()), each);
  } else {
    // Wan releases the 1.3B DiT in float32; the 14B one is written in bf16 here (its released
    // float32 shards are 57 GB; the loaders read either).
    const io::DType dtype = preset == "wan-1.3b" ? io::DType::kF32 : io::DType::kBF16;
    out.safetensors("diffusion_pytorch_model.safetensors", shapes, dtype, each);
  }
  out.text("config.json", config.to_json().dump(2) + "\n");
}

}  // namespace

std::vector<std::string> release_preset_names() { return {"wan-1.3b", "wan-14b", "osp-next-14b"}; }

dit::DiTConfig release_preset_dit(const ReleasePresetOptions& o) {
  const std::map<std::string, std::string> dit_preset = {
      {"wan-1.3b", "wan2.1-t2v-1.3b"}, {"wan-14b", "wan2.1-t2v-14b"}, {"osp-next-14b", "osp-next-14b"}};
  const auto it = dit_preset.find(o.preset);
  if (it == dit_preset.end()) {
    fail_about("--preset", "unknown preset '{}' (expected {})", o.preset, fmt::join(release_preset_names(), ", "));
  }
  dit::DiTConfig config = o.dit_shapes ? *o.dit_shapes : dit::DiTConfig::preset(it->second);
  if (o.dit_layers > 0) {
    config.num_layers = o.dit_layers;
    // A reduced OSP-Next keeps a sparse schedule that fits its depth: all blocks sparse.
    if (config.is_sparse()) config.num_full_blocks = 0;
  }
  config.validate();
  return config;
}

std::vector<WrittenFile> write_release_preset(const std::string& dir, const ReleasePresetOptions& o) {
  const dit::DiTConfig config = release_preset_dit(o);  // an unknown name fails before any file
  const fs::path root(dir);
  if (fs::exists(root) && (!fs::is_directory(root) || (!fs::is_empty(root) && !o.overwrite))) {
    fail_about(dir, fs::is_directory(root) ? "directory is not empty (pass --force to write into it anyway)"
                                           : "exists and is not a directory");
  }
  fs::create_directories(root / kTokenizerDir);
  PresetWriter out(root, o.seed);
  log::info("init-bundle --preset {}: {} ({:.2f} B DiT parameters), random weights, seed {}", o.preset,
            config.arch_name(), static_cast<double>(config.parameter_count()) / 1e9, o.seed);
  out.text(std::string(kTokenizerDir) + "/spiece.model",
           t5::train_t5_sentencepiece(tiny_caption_corpus(), kTinyVocabSize));
  write_text_encoder(out, o);
  write_vae(out);
  write_dit(out, config, o.preset);  // config.json last: the directory is complete when it appears
  return out.written();
}

}  // namespace osp::pipeline
