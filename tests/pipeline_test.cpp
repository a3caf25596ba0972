// pipeline: validation of the generation parameters (before any model is loaded) and model
// bundles (OSP bundle config, Wan release and diffusers directories, explicit component paths).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "osp/core/error.h"
#include "osp/diffusion/sample.h"
#include "osp/pipeline/bundle.h"
#include "osp/pipeline/dit_velocity.h"
#include "osp/pipeline/generation_params.h"
#include "reference_dit.h"
#include "scratch_dir.h"

namespace osp::pipeline {
namespace {

// The osp::Error message of validate(params), or "" when it passes.
std::string validation_error(const GenerationParams& params) {
  try {
    validate(params);
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

using Range = std::pair<int64_t, int64_t>;
namespace fs = std::filesystem;

void expect_contains(const std::string& message, const std::vector<std::string>& parts) {
  EXPECT_FALSE(message.empty()) << "accepted";
  for (const auto& part : parts) EXPECT_NE(message.find(part), std::string::npos) << message;
}

TEST(GenerationParams, DefaultsAndOfficialSizesAreValid) {
  EXPECT_EQ(validation_error(GenerationParams{}), "");
  for (auto [w, h] : std::vector<std::pair<int64_t, int64_t>>{{1280, 720}, {720, 1280}, {832, 480}, {480, 832}}) {
    GenerationParams p;
    p.width = w;
    p.height = h;
    EXPECT_EQ(validation_error(p), "") << w << "x" << h;
  }
  GenerationParams p;
  p.frames = 1;
  p.steps = 1;
  p.guidance = 1.0;
  p.sampler = "dpm++";
  EXPECT_EQ(validation_error(p), "");
}

TEST(GenerationParams, SizesMustBeMultiplesOf16WithTheNearestValidSizes) {
  GenerationParams p;
  p.width = 1000;
  expect_contains(validation_error(p), {"--width", "1000", "992 or 1008"});
  p = GenerationParams{};
  p.height = 8;
  expect_contains(validation_error(p), {"--height", "8", "16"});
  p.height = -32;
  expect_contains(validation_error(p), {"--height", "-32", "16"});
  EXPECT_EQ(nearest_valid_size(480), Range(480, 480));
  EXPECT_EQ(nearest_valid_size(481), Range(480, 496));
  EXPECT_EQ(nearest_valid_size(0), Range(16, 16));
}

TEST(GenerationParams, FramesMustBe4kPlus1WithTheNearestValidCounts) {
  GenerationParams p;
  p.frames = 80;
  expect_contains(validation_error(p), {"--frames", "80", "77 or 81", "4k + 1"});
  p.frames = 0;
  expect_contains(validation_error(p), {"--frames", "nearest valid: 1"});
  EXPECT_EQ(nearest_valid_frames(16), Range(13, 17));
  EXPECT_EQ(nearest_valid_frames(17), Range(17, 17));
  EXPECT_EQ(nearest_valid_frames(2), Range(1, 5));
  EXPECT_EQ(nearest_valid_frames(-3), Range(1, 1));
}

TEST(GenerationParams, StepsShiftGuidanceAndSamplerAreChecked) {
  GenerationParams p;
  p.steps = 0;
  expect_contains(validation_error(p), {"--steps", "0"});
  p = GenerationParams{};
  p.shift = 0.0;
  expect_contains(validation_error(p), {"--shift"});
  p = GenerationParams{};
  p.guidance = -1.0;
  expect_contains(validation_error(p), {"--cfg", "-1"});
  p = GenerationParams{};
  p.sampler = "ddpm";
  expect_contains(validation_error(p), {"--sampler", "ddpm", "unipc, euler, dpm++"});
}

// ---------------------------------------------------------------- model bundles

// The osp::Error message of `body`, or "" when it does not throw.
template <typename F>
std::string error_of(F body) {
  try {
    body();
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

void write_file(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << text;
}

TEST(ModelBundle, ReadsAnOspBundleConfigWithDefaults) {
  test::ScratchDir dir("osp_bundle");
  for (const char* f : {"dit.safetensors", "t5/model.safetensors", "t5/config.json", "tokenizer/spiece.model",
                        "vae.safetensors"}) {
    write_file(dir / f, "x");
  }
  write_file(dir / "config.json", R"({
    "_comment": "tiny test bundle",
    "dit": "dit.safetensors",
    "text_encoder": {"path": "t5/model.safetensors", "config": "t5/config.json"},
    "tokenizer": "tokenizer",
    "vae": {"path": "vae.safetensors"},
    "defaults": {"width": 128, "height": 96, "frames": 9, "steps": 12, "shift": 3.0, "guidance": 4.5,
                 "sampler": "euler", "fps": 8}
  })");
  const ModelBundle bundle = resolve_bundle(dir.path().string());
  EXPECT_EQ(bundle.layout, "osp bundle");
  EXPECT_EQ(bundle.dit.path, dir / "dit.safetensors");
  EXPECT_FALSE(bundle.dit.config.has_value());
  EXPECT_EQ(bundle.text_encoder.path, dir / "t5/model.safetensors");
  EXPECT_EQ(bundle.text_encoder.config.value_or(""), dir / "t5/config.json");
  EXPECT_EQ(bundle.tokenizer.path, dir / "tokenizer");
  EXPECT_EQ(bundle.vae.path, dir / "vae.safetensors");
  const GenerationParams p = generation_defaults(bundle);
  EXPECT_EQ(p.width, 128);
  EXPECT_EQ(p.height, 96);
  EXPECT_EQ(p.frames, 9);
  EXPECT_EQ(p.steps, 12);
  EXPECT_EQ(p.shift, 3.0);
  EXPECT_EQ(p.guidance, 4.5);
  EXPECT_EQ(p.sampler, "euler");
  EXPECT_EQ(p.fps, 8);
  // Unset defaults keep the Wan 2.1 defaults.
  write_file(dir / "config.json", R"({"dit": "dit.safetensors", "text_encoder": "t5/model.safetensors",
                                       "tokenizer": "tokenizer", "vae": "vae.safetensors"})");
  const GenerationParams spec = generation_defaults(resolve_bundle(dir.path().string()));
  EXPECT_EQ(spec.width, 1280);
  EXPECT_EQ(spec.frames, 81);
  EXPECT_EQ(spec.sampler, "unipc");
}

TEST(ModelBundle, ExplicitPathsOverrideTheBundle) {
  test::ScratchDir dir("osp_bundle");
  for (const char* f : {"dit.safetensors", "other_dit.safetensors", "other_dit.json", "t5.pth", "tok.model",
                        "vae.pth", "vae.json"}) {
    write_file(dir / f, "x");
  }
  write_file(dir / "config.json", R"({"dit": {"path": "dit.safetensors", "config": "vae.json"},
    "text_encoder": "t5.pth", "tokenizer": "tok.model", "vae": "vae.pth"})");
  ComponentOverrides o;
  o.dit = dir / "other_dit.safetensors";
  o.vae_config = dir / "vae.json";
  const ModelBundle bundle = resolve_bundle(dir.path().string(), o);
  EXPECT_EQ(bundle.dit.path, dir / "other_dit.safetensors");
  EXPECT_FALSE(bundle.dit.config.has_value());  // the bundle's DiT config belonged to the bundle's DiT
  EXPECT_EQ(bundle.vae.path, dir / "vae.pth");
  EXPECT_EQ(bundle.vae.config.value_or(""), dir / "vae.json");
  // Explicit paths alone make a bundle too.
  ComponentOverrides all;
  all.dit = dir / "other_dit.safetensors";
  all.dit_config = dir / "other_dit.json";
  all.text_encoder = dir / "t5.pth";
  all.tokenizer = dir / "tok.model";
  all.vae = dir / "vae.pth";
  const ModelBundle flags = resolve_bundle(std::nullopt, all);
  EXPECT_EQ(flags.layout, "explicit paths");
  EXPECT_EQ(flags.dit.config.value_or(""), dir / "other_dit.json");
}

TEST(ModelBundle, NamesEveryMissingComponent) {
  test::ScratchDir dir("osp_bundle");
  write_file(dir / "dit.safetensors", "x");
  write_file(dir / "config.json", R"({"dit": "dit.safetensors", "text_encoder": "t5.pth"})");
  write_file(dir / "t5.pth", "x");
  const std::string message = error_of([&] { resolve_bundle(dir.path().string()); });
  expect_contains(message, {"missing model components", "tokenizer (--tokenizer)", "vae (--vae)"});
  EXPECT_EQ(message.find("dit ("), std::string::npos) << message;
  ComponentOverrides only_dit;
  only_dit.dit = dir / "dit.safetensors";
  expect_contains(error_of([&] { resolve_bundle(std::nullopt, only_dit); }),
                  {"text_encoder (--text-encoder)", "tokenizer (--tokenizer)", "vae (--vae)", "--model"});
  // A named component whose file is absent.
  write_file(dir / "config.json", R"({"dit": "dit.safetensors", "text_encoder": "t5.pth",
                                       "tokenizer": "gone.model", "vae": "t5.pth"})");
  expect_contains(error_of([&] { resolve_bundle(dir.path().string()); }), {"gone.model", "tokenizer", "no such"});
  ComponentOverrides bad_config;
  bad_config.vae_config = dir / "absent.json";
  write_file(dir / "tok.model", "x");
  write_file(dir / "config.json", R"({"dit": "dit.safetensors", "text_encoder": "t5.pth",
                                       "tokenizer": "tok.model", "vae": "t5.pth"})");
  expect_contains(error_of([&] { resolve_bundle(dir.path().string(), bad_config); }), {"absent.json", "--vae-config"});
}

TEST(ModelBundle, RejectsUnknownFieldsWrongTypesAndBadDefaults) {
  const std::string src = "bundle/config.json";
  auto parse = [&](const char* text) { return error_of([&] { parse_bundle_config(nlohmann::json::parse(text), "bundle", src); }); };
  expect_contains(parse(R"({"dit": "d", "vea": "v"})"), {src, "unknown field 'vea'"});
  expect_contains(parse(R"({"dit": {"path": "d", "cfg": "c"}})"), {src, "dit.cfg"});
  expect_contains(parse(R"({"dit": {"config": "c"}})"), {src, "'dit' has no \"path\""});
  expect_contains(parse(R"({"dit": 3})"), {src, "'dit'"});
  expect_contains(parse(R"({"defaults": {"steps": "20"}})"), {src, "defaults.steps", "integer"});
  expect_contains(parse(R"({"defaults": {"seed": 1}})"), {src, "defaults.seed"});
  expect_contains(parse(R"({"defaults": {"frames": 16}})"), {src, "invalid defaults", "--frames", "13 or 17"});
  expect_contains(parse(R"({"defaults": {"sampler": "ddim"}})"), {src, "ddim", "unipc"});
  expect_contains(parse(R"([1, 2])"), {src, "JSON object"});
  EXPECT_EQ(parse(R"({"_class_name": "OspNextBundle", "dit": "/abs/dit"})"), "");
  EXPECT_EQ(parse_bundle_config(nlohmann::json::parse(R"({"dit": "/abs/dit"})"), "bundle", src).dit.path, "/abs/dit");
}

TEST(ModelBundle, RecognizesWanReleaseAndDiffusersDirectories) {
  test::ScratchDir dir("osp_bundle");
  write_file(dir / "wan/config.json", R"({"_class_name": "WanModel", "dim": 1536})");
  write_file(dir / "wan/diffusion_pytorch_model.safetensors", "x");
  write_file(dir / "wan/models_t5_umt5-xxl-enc-bf16.pth", "x");
  write_file(dir / "wan/Wan2.1_VAE.pth", "x");
  write_file(dir / "wan/google/umt5-xxl/spiece.model", "x");
  const ModelBundle wan = resolve_bundle(dir / "wan");
  EXPECT_EQ(wan.layout, "wan release");
  EXPECT_EQ(wan.dit.path, dir / "wan");
  EXPECT_EQ(wan.text_encoder.path, dir / "wan/models_t5_umt5-xxl-enc-bf16.pth");
  EXPECT_EQ(wan.tokenizer.path, dir / "wan/google/umt5-xxl");
  EXPECT_EQ(wan.vae.path, dir / "wan/Wan2.1_VAE.pth");
  fs::remove(dir / "wan/Wan2.1_VAE.pth");
  expect_contains(error_of([&] { resolve_bundle(dir / "wan"); }), {"vae (--vae)"});

  write_file(dir / "diffusers/model_index.json", "{}");
  for (const char* sub : {"transformer", "text_encoder", "tokenizer", "vae"}) write_file(dir / (std::string("diffusers/") + sub + "/x"), "x");
  const ModelBundle diffusers = resolve_bundle(dir / "diffusers");
  EXPECT_EQ(diffusers.layout, "diffusers");
  EXPECT_EQ(diffusers.dit.path, dir / "diffusers/transformer");
  EXPECT_EQ(diffusers.vae.path, dir / "diffusers/vae");

  fs::create_directories(dir.path() / "empty");
  expect_contains(error_of([&] { resolve_bundle(dir / "empty"); }), {"empty", "not a model bundle"});
  expect_contains(error_of([&] { resolve_bundle(dir / "nowhere"); }), {"nowhere", "does not exist"});
  write_file(dir / "broken/config.json", "{\"dit\": ");
  expect_contains(error_of([&] { resolve_bundle(dir / "broken"); }), {"config.json", "not valid JSON"});
}

// ---------------------------------------------------------------- the DiT as the velocity

TEST(DiTVelocity, SamplingDrivesTheGuidedDiTAtTheGridTimesteps) {
  const dit::DiTConfig c = test::tiny_config(32, 2);
  dit::WanDiT model(c, test::kFp32);
  test::randomize(model, 21);
  const at::Tensor noise = test::randn({c.in_dim, 2, 4, 4}, 22);  // [C, F, H, W]
  const at::Tensor context = test::randn({1, 5, c.text_dim}, 23), negative = test::randn({1, 7, c.text_dim}, 24);
  diffusion::SampleOptions options;
  options.steps = 3;
  // The loop written out: both forwards at (x, t_i) on a batch of one, guided, then the UniPC step.
  auto sampler = diffusion::make_sampler(options.sampler, diffusion::sampling_grid(options));
  at::Tensor x = noise;
  for (int64_t i = 0; i < 3; ++i) {
    c10::InferenceMode guard;
    const at::Tensor t = at::full({1}, sampler->grid().timesteps[static_cast<size_t>(i)], at::kFloat);
    const at::Tensor v_c = model.forward(x.unsqueeze(0), t, context)[0];
    const at::Tensor v_u = model.forward(x.unsqueeze(0), t, negative)[0];
    x = sampler->step(i, x, v_u + (v_c - v_u) * 4.0);
  }
  const at::Tensor guided = diffusion::sample(noise, guided_dit_velocity(model, context, negative, 4.0), options);
  EXPECT_EQ(guided.sizes(), noise.sizes());
  EXPECT_LT(test::rel_error(guided, x), 1e-6);
  // CFG 1 equals the conditional branch alone, byte for byte; and differs from CFG 4.
  const at::Tensor cfg1 = diffusion::sample(noise, guided_dit_velocity(model, context, negative, 1.0), options);
  EXPECT_TRUE(cfg1.equal(diffusion::sample(noise, dit_velocity(model, context), options)));
  EXPECT_GT(test::rel_error(cfg1, guided), 1e-3);
  expect_contains(error_of([&] { dit_velocity(model, test::randn({5, c.text_dim}, 25)); }), {"context", "[5, 24]"});
}

TEST(DiTVelocity, BatchedGuidanceEqualsTheTwoForwards) {
  // Contexts of different lengths: the batch pads both to text_len, as each forward alone does.
  const dit::DiTConfig c = test::tiny_config(32, 2);
  dit::WanDiT model(c, test::kFp32);
  test::randomize(model, 31);
  const at::Tensor noise = test::randn({c.in_dim, 2, 4, 4}, 32);
  const at::Tensor context = test::randn({1, 5, c.text_dim}, 33), negative = test::randn({1, 7, c.text_dim}, 34);
  diffusion::SampleOptions options;
  options.steps = 3;
  const at::Tensor two = diffusion::sample(noise, guided_dit_velocity(model, context, negative, 4.0), options);
  std::vector<std::shared_ptr<dit::TextContext>> texts;
  const at::Tensor one = diffusion::sample(noise, batched_guided_dit_velocity(model, context, negative, 4.0, true, &texts), options);
  EXPECT_LT(test::rel_error(one, two), 1e-5);
  ASSERT_EQ(texts.size(), 1u);  // one context of two rows, its keys/values computed once per block
  EXPECT_EQ(texts[0]->context().size(0), 2);
  EXPECT_EQ(texts[0]->kv_computed(), c.num_layers);
  // Guidance 1 runs the conditional branch alone, as the unbatched velocity does.
  EXPECT_TRUE(diffusion::sample(noise, batched_guided_dit_velocity(model, context, at::Tensor(), 1.0), options)
                  .equal(diffusion::sample(noise, dit_velocity(model, context), options)));
  expect_contains(error_of([&] { batched_guided_dit_velocity(model, context, test::randn({7, c.text_dim}, 35), 4.0); }),
                  {"context", "[7, 24]"});
}

}  // namespace
}  // namespace osp::pipeline
