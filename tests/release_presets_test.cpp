// Release presets (pipeline/release_presets.h): `osp init-bundle --preset` writes the released
// layouts (Wan 2.1 and OSP-Next) that the bundle resolver, the loaders and `osp info` recognise —
// checked here on reduced models (fewer blocks and umT5 layers, a small umT5 vocabulary, a small
// DiT in the OSP-Next layout) so that the test stays small; the full-size presets differ only in
// the numbers.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "expect_error.h"
#include "scratch_dir.h"
#include "osp/io/tensor_source.h"
#include "osp/models/dit/loader.h"
#include "osp/models/t5/config.h"
#include "osp/models/vae/loader.h"
#include "osp/pipeline/bundle.h"
#include "osp/pipeline/release_presets.h"

namespace osp::pipeline {
namespace {

namespace fs = std::filesystem;

ReleasePresetOptions reduced(const std::string& preset) {
  ReleasePresetOptions o;
  o.preset = preset;
  o.dit_layers = 1;
  o.text_layers = 1;
  o.text_vocab = 512;
  return o;
}

// Every umT5 tensor of the file has the name and shape of the (reduced) umT5-XXL config.
void expect_text_encoder_layout(const std::string& path, const ReleasePresetOptions& o) {
  t5::T5Config config = t5::T5Config::umt5_xxl();
  config.num_layers = o.text_layers;
  config.vocab_size = o.text_vocab;
  const auto source = io::open_tensor_source(path);
  const auto shapes = config.expected_tensor_shapes();
  ASSERT_EQ(source->names().size(), shapes.size());
  for (const auto& [name, shape] : shapes) {
    EXPECT_EQ(source->meta(name).shape, shape) << name;
    EXPECT_EQ(source->meta(name).dtype, io::DType::kBF16) << name;
  }
}

TEST(ReleasePresets, WanLayoutResolvesAndLoads) {
  const test::ScratchDir dir;
  const ReleasePresetOptions o = reduced("wan-1.3b");
  write_release_preset(dir.path().string(), o);
  const ModelBundle bundle = resolve_bundle(dir.path().string());
  EXPECT_EQ(bundle.layout, "wan release");
  EXPECT_TRUE(fs::is_regular_file(dir.path() / "diffusion_pytorch_model.safetensors"));
  EXPECT_TRUE(fs::is_regular_file(dir.path() / "google/umt5-xxl/spiece.model"));
  const auto dit = dit::load_dit(bundle.dit.path, bundle.dit.config, Precision{}, c10::kCPU);
  EXPECT_EQ(dit->config().dim, 1536);
  EXPECT_EQ(dit->config().num_layers, 1);
  EXPECT_EQ(io::open_tensor_source(bundle.dit.path)->meta("head.head.weight").dtype, io::DType::kF32);  // as released
  expect_text_encoder_layout(bundle.text_encoder.path, o);
  const auto vae = vae::load_vae(bundle.vae.path, std::nullopt, c10::kCPU);  // Wan names, Wan 2.1 shapes
  EXPECT_EQ(vae->config().z_dim, 16);
}

TEST(ReleasePresets, OspNextLayoutIsAnFsdpModelPtThatLoads) {
  const test::ScratchDir dir;
  ReleasePresetOptions o = reduced("osp-next-14b");
  dit::DiTConfig small = dit::DiTConfig::preset("osp-next-14b");
  small.dim = 256;
  small.ffn_dim = 512;
  small.num_heads = 2;
  small.num_layers = 8;
  small.num_full_blocks = 4;
  small.text_dim = 4096;
  o.dit_shapes = small;
  o.dit_layers = 0;
  write_release_preset(dir.path().string(), o);
  ASSERT_TRUE(fs::is_regular_file(dir.path() / "model.pt"));
  EXPECT_FALSE(fs::exists(dir.path() / "diffusion_pytorch_model.safetensors"));
  const auto source = io::open_tensor_source((dir.path() / "model.pt").string());
  EXPECT_NE(source->format().find("model"), std::string::npos) << source->format();  // the state dict under "model"
  EXPECT_EQ(source->names().front().rfind("_fsdp_wrapped_module.", 0), 0u) << source->names().front();
  const ModelBundle bundle = resolve_bundle(dir.path().string());
  const auto dit = dit::load_dit(bundle.dit.path, bundle.dit.config, Precision{}, c10::kCPU);
  EXPECT_EQ(dit->config().skiparse_model_type, "dual_end");
  EXPECT_EQ(dit->config().dim, 256);
  const std::string layout = dit::detect_architecture(*source).layout;
  EXPECT_NE(layout.find("fsdp"), std::string::npos) << layout;
}

TEST(ReleasePresets, UnknownPresetAndNonEmptyDirectoryAreErrors) {
  const test::ScratchDir dir;
  ReleasePresetOptions o;
  o.preset = "wan-7b";
  test::expect_error([&] { write_release_preset((dir.path() / "x").string(), o); }, {"--preset", "wan-7b", "osp-next-14b"});
  EXPECT_FALSE(fs::exists(dir.path() / "x"));
  std::ofstream(dir.path() / "keep.txt") << "x";
  o.preset = "wan-1.3b";
  test::expect_error([&] { write_release_preset(dir.path().string(), o); }, {"not empty", "--force"});
}

}  // namespace
}  // namespace osp::pipeline
