// Adapter files (docs/lora.md "Formats"): every trainer's layout reads to the same canonical
// modules bit for bit, the PEFT writer round-trips exactly, kohya's underscore names resolve, and
// bad files are osp::Errors naming the key, the file and the problem.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "expect_error.h"
#include "fixtures.h"
#include "integration/run_osp.h"
#include "osp/io/lora_file.h"
#include "osp/io/lora_keys.h"
#include "osp/io/lora_summary.h"
#include "osp/io/safetensors_writer.h"
#include "osp/io/tensor_source.h"
#include "scratch_dir.h"

namespace osp::io {
namespace {

namespace fs = std::filesystem;
using test::expect_error;
using test::fixture;
using test::ScratchDir;
using Tensors = std::vector<std::pair<std::string, at::Tensor>>;

constexpr int64_t kRank = 4, kIn = 8, kOut = 6;

// The fixtures' values, recomputed here (tests/fixtures/lora_fixtures.py `pattern`): multiples of
// 1/32 in [-1/4, 1/4], exact in bf16 and fp16.
at::Tensor pattern(int64_t seed, std::vector<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return ((at::arange(n, at::kLong) * 7 + seed).remainder(17) - 8).to(at::kFloat).div(32).reshape(shape);
}

// The i-th module of a file: lora_A = pattern(4i), lora_B = pattern(4i + 1), diff = pattern(4i + 2),
// diff_b = pattern(4i + 3).
LoraModule module_with_factors(const std::string& module, int64_t i, std::optional<double> alpha) {
  LoraModule m;
  m.module = module;
  m.down = pattern(4 * i, {kRank, kIn});
  m.up = pattern(4 * i + 1, {kOut, kRank});
  m.alpha = alpha;
  return m;
}

LoraModule module_with_deltas(const std::string& module, int64_t i) {
  LoraModule m;
  m.module = module;
  m.diff = pattern(4 * i + 2, {kOut, kIn});
  m.diff_b = pattern(4 * i + 3, {kOut});
  return m;
}

// Both undefined, or both float32 with the same shape and bits.
void expect_same_tensor(const at::Tensor& actual, const at::Tensor& expected, const std::string& what) {
  ASSERT_EQ(actual.defined(), expected.defined()) << what;
  if (!expected.defined()) return;
  EXPECT_EQ(actual.scalar_type(), at::kFloat) << what;
  ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
  const at::Tensor a = actual.contiguous(), e = expected.to(at::kFloat).contiguous();
  EXPECT_EQ(std::memcmp(a.data_ptr(), e.data_ptr(), a.numel() * sizeof(float)), 0) << what;
}

void expect_same_modules(const std::vector<LoraModule>& actual, std::vector<LoraModule> expected) {
  std::sort(expected.begin(), expected.end(), [](const LoraModule& a, const LoraModule& b) { return a.module < b.module; });
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    const std::string& name = expected[i].module;
    EXPECT_EQ(actual[i].module, name);
    expect_same_tensor(actual[i].down, expected[i].down, name + " lora_A");
    expect_same_tensor(actual[i].up, expected[i].up, name + " lora_B");
    expect_same_tensor(actual[i].diff, expected[i].diff, name + " diff");
    expect_same_tensor(actual[i].diff_b, expected[i].diff_b, name + " diff_b");
    EXPECT_EQ(actual[i].alpha, expected[i].alpha) << name;
    EXPECT_FALSE(actual[i].source_key.empty()) << name;
  }
}

// write_lora_file then read_lora_file gives the same modules and config.
void expect_round_trip(const LoraFile& file, const ScratchDir& dir) {
  const std::string out = dir / "round_trip.safetensors";
  write_lora_file(out, file);
  const LoraFile again = read_lora_file(out);
  EXPECT_EQ(again.format, "peft");
  expect_same_modules(again.modules, file.modules);
  EXPECT_EQ(again.adapter_config, file.adapter_config);
}

// A file in a foreign spelling: `prefix + name + suffix` per tensor, in `dtype`.
struct Spelling {
  std::string down = ".lora_A.weight";
  std::string up = ".lora_B.weight";
};

Tensors foreign_tensors(const std::vector<std::pair<std::string, LoraModule>>& modules, const Spelling& spelling,
                        at::ScalarType dtype) {
  Tensors out;
  for (const auto& [name, m] : modules) {
    if (m.down.defined()) {
      out.emplace_back(name + spelling.down, m.down.to(dtype));
      out.emplace_back(name + spelling.up, m.up.to(dtype));
    }
    if (m.alpha) out.emplace_back(name + ".alpha", at::scalar_tensor(*m.alpha, dtype));
    if (m.diff.defined()) out.emplace_back(name + ".diff", m.diff.to(dtype));
    if (m.diff_b.defined()) out.emplace_back(name + ".diff_b", m.diff_b.to(dtype));
  }
  return out;
}

std::vector<LoraModule> modules_of(const std::vector<std::pair<std::string, LoraModule>>& named) {
  std::vector<LoraModule> out;
  for (const auto& entry : named) out.push_back(entry.second);
  return out;
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// ---- every format reads to the canonical modules, bit for bit ----

TEST(LoraIoFormats, PeftTorchPickleWithAdapterConfig) {
  // lora_alpha 8 for all, alpha_pattern 2 for blocks.1.cross_attn.o (fixture: lora_fixtures.py).
  const std::vector<LoraModule> expected = {
      module_with_factors("blocks.0.self_attn.q", 0, 8.0), module_with_factors("blocks.0.self_attn.k", 1, 8.0),
      module_with_factors("blocks.1.cross_attn.o", 2, 2.0), module_with_factors("blocks.1.ffn.0", 3, 8.0)};
  for (const std::string& path : {fixture("lora/peft_bin"), fixture("lora/peft_bin/adapter_model.bin")}) {
    const LoraFile file = read_lora_file(path);
    EXPECT_EQ(file.format, "peft") << path;
    EXPECT_EQ(file.path, path);
    ASSERT_TRUE(file.adapter_config.is_object()) << path;
    EXPECT_EQ(file.adapter_config.at("r"), 4);
    expect_same_modules(file.modules, expected);
  }
  ScratchDir dir;
  expect_round_trip(read_lora_file(fixture("lora/peft_bin")), dir);
}

TEST(LoraIoFormats, KohyaBf16WithAlphasAndDeltas) {
  const std::vector<LoraModule> expected = {
      module_with_factors("blocks.0.self_attn.q", 0, 2.0), module_with_factors("blocks.1.cross_attn.v", 1, 4.0),
      module_with_factors("blocks.0.ffn.2", 2, 8.0),       module_with_factors("text_embedding.0", 3, 1.0),
      module_with_factors("time_projection.1", 4, 3.0),    module_with_factors("head.head", 5, 6.0),
      module_with_deltas("blocks.1.ffn.0", 6)};
  const LoraFile file = read_lora_file(fixture("lora/kohya.safetensors"));
  EXPECT_EQ(file.format, "kohya");
  EXPECT_TRUE(file.adapter_config.is_null());
  expect_same_modules(file.modules, expected);
  ScratchDir dir;
  expect_round_trip(file, dir);
}

TEST(LoraIoFormats, ComfyUiFp16FactorsAndADeltaOnlyModule) {
  const std::vector<LoraModule> expected = {module_with_factors("blocks.0.cross_attn.k", 0, std::nullopt),
                                            module_with_factors("time_embedding.2", 1, std::nullopt),
                                            module_with_deltas("blocks.1.self_attn.o", 2)};
  const LoraFile file = read_lora_file(fixture("lora/comfy.safetensors"));
  EXPECT_EQ(file.format, "comfyui");
  expect_same_modules(file.modules, expected);
  ScratchDir dir;
  expect_round_trip(file, dir);
}

TEST(LoraIoFormats, DiffusersModuleNamesMapToWanNames) {
  const std::vector<std::pair<std::string, LoraModule>> named = {
      {"transformer.blocks.0.attn1.to_q", module_with_factors("blocks.0.self_attn.q", 0, std::nullopt)},
      {"transformer.blocks.0.attn2.to_out.0", module_with_factors("blocks.0.cross_attn.o", 1, std::nullopt)},
      {"transformer.blocks.11.ffn.net.0.proj", module_with_factors("blocks.11.ffn.0", 2, std::nullopt)},
      {"transformer.blocks.11.ffn.net.2", module_with_factors("blocks.11.ffn.2", 3, std::nullopt)},
      {"transformer.condition_embedder.time_proj", module_with_factors("time_projection.1", 4, std::nullopt)},
      {"transformer.condition_embedder.text_embedder.linear_2", module_with_factors("text_embedding.2", 5, std::nullopt)},
      {"transformer.proj_out", module_with_deltas("head.head", 6)}};
  ScratchDir dir;
  write_safetensors(dir / "pytorch_lora_weights.safetensors", foreign_tensors(named, {}, at::kBFloat16));
  const LoraFile file = read_lora_file(dir / "pytorch_lora_weights.safetensors");
  EXPECT_EQ(file.format, "diffusers");
  expect_same_modules(file.modules, modules_of(named));
  expect_round_trip(file, dir);
}

TEST(LoraIoFormats, ComfyUiDownUpWithPerModuleAlpha) {
  const std::vector<std::pair<std::string, LoraModule>> named = {
      {"model.diffusion_model.blocks.0.self_attn.v", module_with_factors("blocks.0.self_attn.v", 0, 16.0)},
      {"model.diffusion_model.blocks.3.ffn.0", module_with_factors("blocks.3.ffn.0", 1, 0.5)},
      {"model.diffusion_model.time_embedding.0", module_with_factors("time_embedding.0", 2, std::nullopt)}};
  ScratchDir dir;
  write_safetensors(dir / "comfy.safetensors",
                    foreign_tensors(named, {".lora_down.weight", ".lora_up.weight"}, at::kHalf));
  const LoraFile file = read_lora_file(dir / "comfy.safetensors");
  EXPECT_EQ(file.format, "comfyui");
  expect_same_modules(file.modules, modules_of(named));
  EXPECT_DOUBLE_EQ(file.modules[0].scale(), 16.0 / kRank);  // blocks.0.self_attn.v
  EXPECT_DOUBLE_EQ(file.modules[2].scale(), 1.0);            // time_embedding.0: no alpha
  expect_round_trip(file, dir);
}

TEST(LoraIoFormats, PeftSafetensorsDirectoryWithAdapterNameAndConfig) {
  // The alphas come from adapter_config.json only: alpha_pattern for cross_attn.q, else lora_alpha.
  const std::vector<std::pair<std::string, LoraModule>> named = {
      {"base_model.model.blocks.2.cross_attn.q", module_with_factors("blocks.2.cross_attn.q", 0, 0.25)},
      {"base_model.model.blocks.2.cross_attn.k", module_with_factors("blocks.2.cross_attn.k", 1, 4.0)}};
  auto without_alphas = named;
  for (auto& entry : without_alphas) entry.second.alpha.reset();
  ScratchDir dir;
  write_safetensors(dir / "adapter_model.safetensors",
                    foreign_tensors(without_alphas, {".lora_A.default.weight", ".lora_B.default.weight"}, at::kFloat));
  write_text(dir / "adapter_config.json",
             R"({"r": 4, "lora_alpha": 4, "target_modules": "blocks\\..*", "alpha_pattern": {"cross_attn.q": 0.25}})");
  const LoraFile file = read_lora_file(dir.path().string());
  EXPECT_EQ(file.format, "peft");
  expect_same_modules(file.modules, modules_of(named));
  expect_round_trip(file, dir);
}

TEST(LoraIoFormats, AdapterConfigBesideNonPeftFilesIsIgnored) {
  // A kohya file in a folder that also holds some adapter_config.json keeps its own alphas.
  ScratchDir dir;
  fs::copy_file(fixture("lora/kohya.safetensors"), dir / "kohya.safetensors");
  write_text(dir / "adapter_config.json", R"({"lora_alpha": "not even a number"})");
  const LoraFile file = read_lora_file(dir / "kohya.safetensors");
  EXPECT_TRUE(file.adapter_config.is_null());
  EXPECT_EQ(file.modules.front().module, "blocks.0.ffn.2");
  EXPECT_EQ(file.modules.front().alpha, 8.0);
}

// ---- the writer ----

TEST(LoraIoWriter, WritesPeftNamesAndOnlyTheAlphasTheConfigDoesNotGive) {
  LoraFile file;
  file.format = "kohya";
  file.adapter_config = {{"r", 4}, {"lora_alpha", 8}, {"target_modules", {"q", "ffn.0"}}};
  file.modules = {module_with_factors("blocks.0.self_attn.q", 0, 8.0),
                  module_with_factors("blocks.0.self_attn.v", 1, 1.0 / 3.0),  // needs all 53 bits
                  module_with_factors("blocks.0.ffn.0", 2, std::nullopt), module_with_deltas("head.head", 3)};
  ScratchDir dir;
  write_lora_file(dir / "adapter_model.safetensors", file);

  const auto source = open_tensor_source(dir / "adapter_model.safetensors");
  std::vector<std::string> names = source->names();
  std::sort(names.begin(), names.end());
  const std::vector<std::string> expected_names = {
      "base_model.model.blocks.0.ffn.0.alpha",          "base_model.model.blocks.0.ffn.0.lora_A.weight",
      "base_model.model.blocks.0.ffn.0.lora_B.weight",  "base_model.model.blocks.0.self_attn.q.lora_A.weight",
      "base_model.model.blocks.0.self_attn.q.lora_B.weight", "base_model.model.blocks.0.self_attn.v.alpha",
      "base_model.model.blocks.0.self_attn.v.lora_A.weight", "base_model.model.blocks.0.self_attn.v.lora_B.weight",
      "base_model.model.head.head.diff",                "base_model.model.head.head.diff_b"};
  EXPECT_EQ(names, expected_names);
  EXPECT_EQ(source->meta("base_model.model.blocks.0.self_attn.q.lora_A.weight").dtype, DType::kF32);
  ASSERT_TRUE(fs::exists(dir / "adapter_config.json"));

  const LoraFile again = read_lora_file(dir.path().string());
  ASSERT_EQ(again.modules.size(), 4u);
  EXPECT_EQ(again.adapter_config, file.adapter_config);
  EXPECT_EQ(again.modules[2].module, "blocks.0.self_attn.v");
  EXPECT_EQ(again.modules[2].alpha, 1.0 / 3.0);
  // An unset alpha next to a config alpha is written as alpha = rank: the same scale, 1.
  EXPECT_EQ(again.modules[0].module, "blocks.0.ffn.0");
  EXPECT_EQ(again.modules[0].alpha, static_cast<double>(kRank));
  EXPECT_DOUBLE_EQ(again.modules[0].scale(), 1.0);
  EXPECT_DOUBLE_EQ(again.modules[1].scale(), 8.0 / kRank);
}

TEST(LoraIoWriter, RefusesWhatItCouldNotReadBack) {
  ScratchDir dir;
  LoraFile file;
  file.modules = {module_with_factors("blocks.0.self_attn.norm_q", 0, std::nullopt)};
  expect_error([&] { write_lora_file(dir / "a.safetensors", file); }, {"blocks.0.self_attn.norm_q", "not a Wan DiT linear"});
  file.modules = {module_with_factors("blocks.0.ffn.0", 0, 1.0), module_with_factors("blocks.0.ffn.0", 1, 1.0)};
  expect_error([&] { write_lora_file(dir / "a.safetensors", file); }, {"blocks.0.ffn.0", "twice"});
  file.modules = {module_with_factors("blocks.0.ffn.0", 0, 1.0)};
  file.modules[0].up = at::Tensor();
  expect_error([&] { write_lora_file(dir / "a.safetensors", file); }, {"blocks.0.ffn.0", "without lora_B"});
  file.modules = {module_with_factors("blocks.0.ffn.0", 0, 1.0)};
  expect_error([&] { write_lora_file(dir / "a.bin", file); }, {"a.bin", ".safetensors"});
  file.adapter_config = {{"lora_alpha", "x"}};
  expect_error([&] { write_lora_file(dir / "a.safetensors", file); }, {"lora_alpha", "number"});
  EXPECT_FALSE(fs::exists(dir / "a.safetensors"));
  EXPECT_FALSE(fs::exists(dir / "adapter_config.json"));
}

TEST(LoraIoWriter, ScaleIsAlphaOverRankElseOne) {
  EXPECT_DOUBLE_EQ(module_with_factors("head.head", 0, 8.0).scale(), 2.0);
  EXPECT_DOUBLE_EQ(module_with_factors("head.head", 0, std::nullopt).scale(), 1.0);
  EXPECT_DOUBLE_EQ(module_with_deltas("head.head", 0).scale(), 1.0);
  EXPECT_EQ(module_with_deltas("head.head", 0).rank(), 0);
}

// ---- names ----

TEST(LoraIoKeys, KohyaUnderscoreNamesResolveAgainstTheWanLinears) {
  struct Case {
    const char* key;
    const char* module;  // nullptr: not an adapter key
  };
  const Case cases[] = {
      {"lora_unet_blocks_3_self_attn_q.lora_down.weight", "blocks.3.self_attn.q"},
      {"lora_unet_blocks_12_cross_attn_o.lora_up.weight", "blocks.12.cross_attn.o"},
      {"lora_unet_blocks_0_ffn_2.alpha", "blocks.0.ffn.2"},
      {"lora_unet_time_projection_1.diff", "time_projection.1"},
      {"lora_unet_text_embedding_2.diff_b", "text_embedding.2"},
      {"lora_unet_time_embedding_0.lora_down.weight", "time_embedding.0"},
      {"lora_unet_head_head.lora_up.weight", "head.head"},
      {"lora_unet_blocks_3_self_attn_norm_q.lora_down.weight", nullptr},  // a norm, not a linear
      {"lora_unet_blocks_3_self_attn.lora_down.weight", nullptr},
      {"lora_unet_blocks_03_self_attn_q.lora_down.weight", nullptr},  // leading zero
      {"lora_unet_blocks__self_attn_q.lora_down.weight", nullptr},
      {"lora_unet_blocks_0_cross_attn_k_img.lora_down.weight", nullptr},  // i2v only
      {"lora_te_text_model_encoder_layers_0_mlp_fc1.lora_down.weight", nullptr},
      {"lora_unet_head_head.lora_mid.weight", nullptr},  // LoCon: unknown role
  };
  for (const Case& c : cases) {
    const std::optional<LoraKey> key = parse_lora_key(c.key);
    if (!c.module) {
      EXPECT_FALSE(key) << c.key << " -> " << key->module;
      continue;
    }
    ASSERT_TRUE(key) << c.key;
    EXPECT_EQ(key->module, c.module) << c.key;
    EXPECT_EQ(key->format, "kohya") << c.key;
  }
}

TEST(LoraIoKeys, DottedSpellingsRolesAndFormats) {
  struct Case {
    const char* key;
    const char* module;
    LoraRole role;
    const char* format;
  };
  const Case cases[] = {
      {"base_model.model.blocks.0.self_attn.q.lora_A.weight", "blocks.0.self_attn.q", LoraRole::kDown, "peft"},
      {"base_model.model.blocks.0.self_attn.q.lora_B.default.weight", "blocks.0.self_attn.q", LoraRole::kUp, "peft"},
      {"blocks.7.ffn.0.lora_A.default.weight", "blocks.7.ffn.0", LoraRole::kDown, "peft"},
      {"transformer.blocks.1.attn2.to_k.lora_B.weight", "blocks.1.cross_attn.k", LoraRole::kUp, "diffusers"},
      {"transformer.condition_embedder.time_embedder.linear_1.lora_A.weight", "time_embedding.0", LoraRole::kDown,
       "diffusers"},
      {"transformer.blocks.1.attn1.to_v.lora_down.weight", "blocks.1.self_attn.v", LoraRole::kDown, "comfyui"},
      {"diffusion_model.blocks.2.cross_attn.v.lora_A.weight", "blocks.2.cross_attn.v", LoraRole::kDown, "comfyui"},
      {"model.diffusion_model.head.head.diff_b", "head.head", LoraRole::kDiffBias, "comfyui"},
      {"diffusion_model.blocks.0.self_attn.o.alpha", "blocks.0.self_attn.o", LoraRole::kAlpha, "comfyui"},
      {"blocks.0.self_attn.o.lora_up.weight", "blocks.0.self_attn.o", LoraRole::kUp, "comfyui"},
      {"base_model.model.text_embedding.0.diff", "text_embedding.0", LoraRole::kDiff, "peft"},
  };
  for (const Case& c : cases) {
    const std::optional<LoraKey> key = parse_lora_key(c.key);
    ASSERT_TRUE(key) << c.key;
    EXPECT_EQ(key->module, c.module) << c.key;
    EXPECT_EQ(key->role, c.role) << c.key;
    EXPECT_EQ(key->format, c.format) << c.key;
  }
  for (const char* bad : {"blocks.0.self_attn.q.weight", "blocks.0.self_attn.norm_q.lora_A.weight",
                          "blocks.0.modulation.diff", "patch_embedding.lora_A.weight", "unet.blocks.0.ffn.0.lora_A.weight",
                          "transformer.blocks.0.attn1.to_q.lora_magnitude_vector", "blocks.x.ffn.0.lora_A.weight"}) {
    EXPECT_FALSE(parse_lora_key(bad)) << bad;
  }
}

TEST(LoraIoKeys, WanLinearNames) {
  for (const char* name : {"blocks.0.self_attn.q", "blocks.39.cross_attn.o", "blocks.10.ffn.2", "text_embedding.2",
                           "time_embedding.0", "time_projection.1", "head.head"}) {
    EXPECT_TRUE(is_wan_linear(name)) << name;
  }
  for (const char* name : {"blocks.0.ffn.1", "blocks.01.ffn.0", "blocks..ffn.0", "blocks.0", "time_projection.0",
                           "head.modulation", "patch_embedding", "blocks.0.self_attn.q.weight", ""}) {
    EXPECT_FALSE(is_wan_linear(name)) << name;
  }
}

TEST(LoraIoDetect, FormatsFromNamesAndNulloptForCheckpoints) {
  EXPECT_EQ(detect_lora_format(open_tensor_source(fixture("lora/kohya.safetensors"))->names()), "kohya");
  EXPECT_EQ(detect_lora_format(open_tensor_source(fixture("lora/comfy.safetensors"))->names()), "comfyui");
  EXPECT_EQ(detect_lora_format(open_tensor_source(fixture("lora/peft_bin"))->names()), "peft");
  EXPECT_EQ(detect_lora_format({"transformer.blocks.0.attn1.to_q.lora_A.weight",
                                "transformer.blocks.0.attn1.to_q.lora_B.weight"}),
            "diffusers");
  EXPECT_EQ(detect_lora_format({"model.diffusion_model.blocks.0.ffn.0.diff"}), "comfyui");
  for (const char* checkpoint : {"wan_single", "diffusers/transformer", "comfy.safetensors", "OSP-Next-tiny"}) {
    EXPECT_EQ(detect_lora_format(open_tensor_source(fixture(checkpoint))->names()), std::nullopt) << checkpoint;
  }
  EXPECT_EQ(detect_lora_format({"decoder.snake.alpha", "blocks.0.ffn.0.alpha"}), std::nullopt);  // alphas alone
  EXPECT_EQ(detect_lora_format({}), std::nullopt);
}

TEST(LoraIoSummary, CountsWhatInfoPrints) {
  const LoraSummary s = summarize_lora(read_lora_file(fixture("lora/kohya.safetensors")));
  EXPECT_EQ(s.format, "kohya");
  EXPECT_EQ(s.modules, 7);
  EXPECT_EQ(s.ranks, (std::map<int64_t, int64_t>{{kRank, 6}}));
  EXPECT_EQ(s.alphas, (std::map<double, int64_t>{{1, 1}, {2, 1}, {3, 1}, {4, 1}, {6, 1}, {8, 1}}));
  EXPECT_EQ(s.modules_without_alpha, 0);
  EXPECT_EQ(s.kinds, (std::vector<std::string>{"self_attn", "cross_attn", "ffn", "embeddings", "head"}));
  EXPECT_EQ(s.diffs, 1);
  EXPECT_EQ(s.bias_diffs, 1);
  EXPECT_EQ(s.parameters, 6 * (kRank * kIn + kOut * kRank) + kOut * kIn + kOut);
}

// ---- bad input ----

class LoraIoBadInput : public ::testing::Test {
 protected:
  // A safetensors file of `tensors` (float32 unless given otherwise); returns its path.
  std::string file(const Tensors& tensors) {
    const std::string path = dir_ / ("bad" + std::to_string(counter_++) + ".safetensors");
    write_safetensors(path, tensors);
    return path;
  }
  // read_lora_file(`tensors`) throws osp::Error naming the file and every part.
  void expect_rejected(const Tensors& tensors, std::initializer_list<std::string> parts) {
    const std::string path = file(tensors);
    expect_error([&] { read_lora_file(path); }, parts);
    expect_error([&] { read_lora_file(path); }, {fs::path(path).filename().string()});
  }

  ScratchDir dir_;
  int counter_ = 0;
};

const std::string kQ = "diffusion_model.blocks.0.self_attn.q";

TEST_F(LoraIoBadInput, UnknownModuleKeyIsNamed) {
  const std::string bad = "diffusion_model.blocks.0.self_attn.norm_q.lora_A.weight";
  expect_rejected({{kQ + ".lora_A.weight", at::ones({4, 8})}, {kQ + ".lora_B.weight", at::ones({6, 4})}, {bad, at::ones({4, 8})}},
                  {bad, "not an adapter entry for a Wan DiT linear"});
  expect_rejected({{"lora_unet_blocks_0_self_attn_q_img.lora_down.weight", at::ones({4, 8})}},
                  {"lora_unet_blocks_0_self_attn_q_img.lora_down.weight"});
  expect_rejected({{"blocks.0.self_attn.q.weight", at::ones({8, 8})}}, {"blocks.0.self_attn.q.weight"});
}

TEST_F(LoraIoBadInput, FactorsMustComeInConsistentPairs) {
  expect_rejected({{kQ + ".lora_A.weight", at::ones({4, 8})}}, {kQ + ".lora_A.weight", "without lora_B"});
  expect_rejected({{kQ + ".lora_up.weight", at::ones({6, 4})}}, {kQ + ".lora_up.weight", "without lora_A"});
  expect_rejected({{kQ + ".lora_A.weight", at::ones({4, 8})}, {kQ + ".lora_B.weight", at::ones({6, 3})}},
                  {"rank mismatch", "[4, 8]", "[6, 3]"});
  expect_rejected({{kQ + ".lora_A.weight", at::ones({0, 8})}, {kQ + ".lora_B.weight", at::ones({6, 0})}}, {"rank 0"});
  expect_rejected({{kQ + ".lora_A.weight", at::ones({4, 8, 1})}, {kQ + ".lora_B.weight", at::ones({6, 4})}},
                  {"lora_A must be 2-D", "[4, 8, 1]"});
  expect_rejected({{kQ + ".lora_A.weight", at::ones({4, 8})}, {kQ + ".lora_B.weight", at::ones({6})}}, {"lora_B must be 2-D"});
  expect_rejected({{kQ + ".lora_A.weight", at::ones({4, 8}, at::kInt)}, {kQ + ".lora_B.weight", at::ones({6, 4})}},
                  {kQ + ".lora_A.weight", "floating point"});
}

TEST_F(LoraIoBadInput, AlphasAreFiniteScalarsOfFactoredModules) {
  const Tensors factors = {{kQ + ".lora_A.weight", at::ones({4, 8})}, {kQ + ".lora_B.weight", at::ones({6, 4})}};
  for (double bad : {std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()}) {
    Tensors t = factors;
    t.emplace_back(kQ + ".alpha", at::scalar_tensor(bad, at::kFloat));
    expect_rejected(t, {"alpha", "not finite"});
  }
  Tensors two = factors;
  two.emplace_back(kQ + ".alpha", at::ones({2}));
  expect_rejected(two, {kQ + ".alpha", "one number"});
  expect_rejected({{kQ + ".alpha", at::scalar_tensor(4.0)}, {kQ + ".diff", at::ones({6, 8})}}, {"alpha without"});
  Tensors nan_weights = factors;
  nan_weights[1].second[0][0] = std::numeric_limits<float>::quiet_NaN();
  expect_rejected(nan_weights, {kQ + ".lora_B.weight", "non-finite"});
}

TEST_F(LoraIoBadInput, DeltasHaveTheirShapes) {
  expect_rejected({{kQ + ".diff", at::ones({6})}}, {"diff must be 2-D"});
  expect_rejected({{kQ + ".diff_b", at::ones({6, 1})}}, {"diff_b must be 1-D"});
  expect_rejected({{kQ + ".diff", at::ones({6, 8})}, {kQ + ".diff_b", at::ones({5})}}, {"diff_b [5]", "out = 6"});
  expect_rejected({{kQ + ".lora_A.weight", at::ones({4, 8})}, {kQ + ".lora_B.weight", at::ones({6, 4})}, {kQ + ".diff", at::ones({6, 7})}},
                  {"diff [6, 7]", "[6, 8]"});
}

TEST_F(LoraIoBadInput, OneModuleInTwoSpellings) {
  expect_rejected({{"transformer.blocks.0.attn1.to_q.lora_A.weight", at::ones({4, 8})},
                   {kQ + ".lora_A.weight", at::ones({4, 8})}},
                  {"transformer.blocks.0.attn1.to_q.lora_A.weight", kQ + ".lora_A.weight", "blocks.0.self_attn.q"});
}

TEST_F(LoraIoBadInput, EmptyAndTruncatedFiles) {
  expect_rejected({}, {"no tensors"});
  const std::string path = file({{kQ + ".lora_A.weight", at::ones({4, 8})}, {kQ + ".lora_B.weight", at::ones({6, 4})}});
  fs::resize_file(path, fs::file_size(path) - 10);
  expect_error([&] { read_lora_file(path); }, {fs::path(path).filename().string()});
  expect_error([&] { read_lora_file(dir_ / "missing.safetensors"); }, {"missing.safetensors"});
}

TEST_F(LoraIoBadInput, AdapterConfigFieldsAreTypeChecked) {
  write_safetensors(dir_ / "adapter_model.safetensors",
                    {{"base_model.model.blocks.0.ffn.0.lora_A.weight", at::ones({4, 8})},
                     {"base_model.model.blocks.0.ffn.0.lora_B.weight", at::ones({6, 4})}});
  const std::string config = dir_ / "adapter_config.json";
  const std::pair<const char*, std::vector<std::string>> cases[] = {
      {R"({"lora_alpha": "eight"})", {"lora_alpha", "number", "\"eight\""}},
      {R"({"r": 1.5})", {"'r'", "integer"}},
      {R"({"r": 0})", {"'r'", "integer >= 1"}},
      {R"({"target_modules": 3})", {"target_modules", "list of strings"}},
      {R"({"target_modules": ["q", 1]})", {"target_modules"}},
      {R"({"alpha_pattern": [1]})", {"alpha_pattern", "object"}},
      {R"({"alpha_pattern": {"ffn.0": "x"}})", {"alpha_pattern.ffn.0", "number"}},
      {R"({"alpha_pattern": {"blocks\\..*": 2}})", {"alpha_pattern.blocks", "literal module names"}},
      {R"({"rank_pattern": {"ffn.0": -1}})", {"rank_pattern.ffn.0"}},
      {R"({"use_rslora": true})", {"use_rslora", "not supported"}},
      {R"({"use_dora": "yes"})", {"use_dora", "true or false"}},
      {R"({"alpha_pattern": {"ffn.0": 2, "blocks.0.ffn.0": 3}})", {"blocks.0.ffn.0", "two alphas"}},
      {R"({"lora_alpha": 8,)", {"adapter_config.json", "not valid JSON"}},
      {R"([1, 2])", {"adapter_config.json", "JSON object"}},
  };
  for (const auto& [text, parts] : cases) {
    write_text(config, text);
    const std::string message = test::error_of([&] { read_lora_file(dir_.path().string()); });
    for (const std::string& part : parts) EXPECT_NE(message.find(part), std::string::npos) << text << " -> " << message;
  }
}

// ---- osp info ----

TEST(LoraIoCli, InfoReportsAnAdapterFile) {
  test::RunResult r = test::run_osp("info " + fixture("lora/kohya.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* line : {"adapter:      kohya", "modules:      7", "ranks:        4 x6",
                           "alphas:       1 x1, 2 x1, 3 x1, 4 x1, 6 x1, 8 x1",
                           "targets:      self_attn, cross_attn, ffn, embeddings, head", "diffs:        1 weight, 1 bias",
                           "adapter params: 390"}) {
    EXPECT_NE(r.output.find(line), std::string::npos) << line << "\n" << r.output;
  }
  EXPECT_EQ(r.output.find("architecture"), std::string::npos) << r.output;

  r = test::run_osp("info " + fixture("lora/peft_bin"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("adapter:      peft"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("alphas:       2 x1, 8 x3"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("targets:      self_attn, cross_attn, ffn"), std::string::npos) << r.output;

  ScratchDir dir;
  write_safetensors(dir / "bad.safetensors", {{"lora_unet_blocks_0_ffn_0.lora_down.weight", at::ones({4, 8})}});
  test::expect_cli_error("info " + (dir / "bad.safetensors"), "without lora_B");
}

}  // namespace
}  // namespace osp::io
