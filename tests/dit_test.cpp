// Wan 2.1 DiT (src/osp/models/dit): config parsing, tensor names, FLOPs, input validation, the
// loader on an in-memory checkpoint, and parity of the fast model against an independent float64
// formulation of docs/dit.md "Forward pass" to "Attention block" written out below.
#include <gtest/gtest.h>

#include <c10/core/InferenceMode.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "expect_error.h"
#include "reference_dit.h"
#include "test_util.h"
#include "osp/core/error.h"
#include "osp/io/tensor_source.h"
#include "osp/models/dit/config.h"
#include "osp/models/dit/flops.h"
#include "osp/models/dit/loader.h"
#include "osp/models/dit/model.h"

namespace {

using nlohmann::json;
using osp::Precision;
using osp::dit::DiTConfig;
using osp::dit::WanDiT;
using osp::test::kBf16;
using osp::test::kFp32;
using osp::test::randn;
using osp::test::rel_error;



using osp::test::expect_error;

// ---------------------------------------------------------------------------------------------
// Config

const char* kOriginal13B = R"({
  "_class_name": "WanModel", "_diffusers_version": "0.30.0", "dim": 1536, "eps": 1e-06,
  "ffn_dim": 8960, "freq_dim": 256, "in_dim": 16, "model_type": "t2v", "num_heads": 12,
  "num_layers": 30, "out_dim": 16, "text_len": 512})";

const char* kDiffusers14B = R"({
  "_class_name": "WanTransformer3DModel", "_diffusers_version": "0.33.0.dev0", "added_kv_proj_dim": null,
  "attention_head_dim": 128, "cross_attn_norm": true, "eps": 1e-06, "ffn_dim": 13824, "freq_dim": 256,
  "image_dim": null, "in_channels": 16, "num_attention_heads": 40, "num_layers": 40, "out_channels": 16,
  "patch_size": [1, 2, 2], "qk_norm": "rms_norm_across_heads", "rope_max_seq_len": 1024, "text_dim": 4096})";

DiTConfig with(const char* base, const json& patch) {
  json j = json::parse(base);
  j.merge_patch(patch);
  return DiTConfig::from_json(j, "test.json");
}

TEST(DiTConfig, ParsesOriginalWanConfig) {
  const DiTConfig c = DiTConfig::from_json(json::parse(kOriginal13B));
  EXPECT_EQ(c.dim, 1536);
  EXPECT_EQ(c.num_heads, 12);
  EXPECT_EQ(c.head_dim(), 128);
  EXPECT_EQ(c.num_layers, 30);
  EXPECT_EQ(c.text_dim, 4096);  // code default, not stored ("Config files")
  EXPECT_EQ(c.patch_size, (std::array<int64_t, 3>{1, 2, 2}));
  EXPECT_TRUE(c.unknown_fields.empty());
  EXPECT_EQ(c.arch_name(), "Wan2.1 1.3B");
  EXPECT_FALSE(c.is_sparse());
}

TEST(DiTConfig, ParsesDiffusersConfig) {
  const DiTConfig c = DiTConfig::from_json(json::parse(kDiffusers14B));
  EXPECT_EQ(c.dim, 5120);
  EXPECT_EQ(c.num_heads, 40);
  EXPECT_EQ(c.ffn_dim, 13824);
  EXPECT_EQ(c.in_dim, 16);
  EXPECT_EQ(c.out_dim, 16);
  EXPECT_TRUE(c.qk_norm);
  EXPECT_TRUE(c.unknown_fields.empty());
  EXPECT_EQ(c.arch_name(), "Wan2.1 14B");
}

TEST(DiTConfig, ParsesOspNextFields) {
  const DiTConfig c = with(kDiffusers14B, {{"skiparse_model_type", "dual_end"}, {"sparse_ratio", 2},
                                           {"num_full_blocks", 8}});
  EXPECT_TRUE(c.is_sparse());
  EXPECT_EQ(c.sparse_ratio, 2);
  EXPECT_EQ(c.num_full_blocks, 8);
  EXPECT_EQ(c.arch_name(), "OSP-Next 14B");
  // "full" forces P = 1 (docs/skiparse.md "Block schedule").
  EXPECT_EQ(with(kOriginal13B, {{"skiparse_model_type", "full"}, {"sparse_ratio", 2}}).sparse_ratio, 1);
}

TEST(DiTConfig, UnknownFieldsAreCollected) {
  const DiTConfig c = with(kOriginal13B, {{"flash_attn_version", 3}, {"foo", "bar"}});
  EXPECT_EQ(c.unknown_fields, (std::vector<std::string>{"flash_attn_version", "foo"}));
}

TEST(DiTConfig, ContradictoryFieldsNameTheField) {
  expect_error([] { with(kOriginal13B, {{"num_heads", 7}}); }, {"test.json", "dim", "num_heads"});
  expect_error([] { with(kOriginal13B, {{"dim", 60}, {"num_heads", 12}}); }, {"num_heads", "head_dim"});  // d = 5
  expect_error([] { with(kOriginal13B, {{"model_type", "i2v"}}); }, {"model_type"});
  expect_error([] { with(kOriginal13B, {{"patch_size", {1, 2}}}); }, {"patch_size"});
  expect_error([] { with(kOriginal13B, {{"patch_size", {1, 2, 0}}}); }, {"patch_size"});
  expect_error([] { with(kOriginal13B, {{"window_size", {16, 16}}}); }, {"window_size"});
  expect_error([] { with(kOriginal13B, {{"qk_norm", false}}); }, {"qk_norm"});
  expect_error([] { with(kOriginal13B, {{"cross_attn_norm", false}}); }, {"cross_attn_norm"});
  expect_error([] { with(kOriginal13B, {{"num_full_blocks", 31}}); }, {"num_full_blocks"});
  expect_error([] { with(kOriginal13B, {{"dim", "1536"}}); }, {"dim", "integer"});
  expect_error([] { with(kDiffusers14B, {{"image_dim", 1280}}); }, {"image_dim"});
  expect_error([] { with(kDiffusers14B, {{"qk_norm", "rms_norm"}}); }, {"qk_norm"});
  expect_error([] { with(kDiffusers14B, {{"dim", 4096}}); }, {"dim", "attention_head_dim"});
  expect_error([] { with(kDiffusers14B, {{"in_dim", 36}}); }, {"in_dim", "in_channels"});
  expect_error([] { with(kOriginal13B, {{"skiparse_model_type", "uniform"}}); }, {"skiparse_model_type"});
  expect_error([] { with(kOriginal13B, {{"skiparse_model_type", "dual_end"}, {"sparse_ratio", 2},
                                        {"num_full_blocks", 6}}); },
               {"num_full_blocks"});
}

TEST(DiTConfig, PresetsRoundTripAndCountParameters) {
  EXPECT_EQ(DiTConfig::preset("wan2.1-t2v-1.3b").parameter_count(), 1418996800);
  EXPECT_EQ(DiTConfig::preset("wan2.1-t2v-14b").parameter_count(), 14288491584);
  const DiTConfig osp = DiTConfig::preset("osp-next-14b");
  EXPECT_EQ(osp.arch_name(), "OSP-Next 14B");
  EXPECT_EQ(osp.skiparse_model_type, "dual_end");
  EXPECT_EQ(osp.sparse_ratio, 2);  // docs/skiparse.md "Released parallel configuration"
  EXPECT_EQ(osp.num_full_blocks, 8);
  for (const std::string& name : DiTConfig::preset_names()) {
    const DiTConfig c = DiTConfig::preset(name);
    const DiTConfig back = DiTConfig::from_json(c.to_json());
    EXPECT_EQ(back.to_json(), c.to_json()) << name;
    EXPECT_TRUE(back.unknown_fields.empty()) << name;
  }
  expect_error([] { DiTConfig::preset("wan2.2"); }, {"wan2.2", "wan2.1-t2v-1.3b", "osp-next-14b"});
}

TEST(DiTConfig, ExpectedTensorShapesFollowSpecTable) {
  const auto shapes = DiTConfig::preset("wan2.1-t2v-1.3b").expected_tensor_shapes();
  ASSERT_EQ(shapes.size(), 825u);
  EXPECT_EQ(DiTConfig::preset("wan2.1-t2v-14b").expected_tensor_shapes().size(), 1095u);
  EXPECT_EQ(shapes.front().first, "patch_embedding.weight");
  EXPECT_EQ(shapes.front().second, (std::vector<int64_t>{1536, 16, 1, 2, 2}));
  EXPECT_EQ(shapes.back().first, "head.head.bias");
  EXPECT_EQ(shapes.back().second, (std::vector<int64_t>{64}));
  const std::map<std::string, std::vector<int64_t>> by_name(shapes.begin(), shapes.end());
  EXPECT_EQ(by_name.at("blocks.29.ffn.2.weight"), (std::vector<int64_t>{1536, 8960}));
  EXPECT_EQ(by_name.at("time_projection.1.weight"), (std::vector<int64_t>{9216, 1536}));
  EXPECT_EQ(by_name.at("blocks.0.modulation"), (std::vector<int64_t>{1, 6, 1536}));
  EXPECT_EQ(by_name.at("head.modulation"), (std::vector<int64_t>{1, 2, 1536}));
  EXPECT_EQ(by_name.count("blocks.3.norm2.weight"), 0u);  // norm1/norm2 have no parameters
  EXPECT_EQ(by_name.count("blocks.3.norm3.bias"), 1u);
}

TEST(DiTConfig, FromFileNamesTheFile) {
  const std::string path = testing::TempDir() + "/osp_dit_bad_config.json";
  std::ofstream(path) << "{ not json";
  expect_error([&] { DiTConfig::from_file(path); }, {path});
}

// ---------------------------------------------------------------------------------------------
// FLOPs (docs/dit.md "FLOP count" worked numbers)

TEST(DiTFlops, MatchesSpecWorkedNumbers) {
  const auto within = [](double got, double want, double tolerance) { return std::abs(got / want - 1) <= tolerance; };
  const DiTConfig small = DiTConfig::preset("wan2.1-t2v-1.3b"), big = DiTConfig::preset("wan2.1-t2v-14b");
  const auto f13 = osp::dit::forward_flops_breakdown(small, 32760);
  EXPECT_TRUE(within(f13.total, 2.830e14, 0.005)) << f13.total;
  EXPECT_TRUE(within(f13.self_attn_linear + f13.cross_attn_linear + f13.ffn, 2.736e12, 0.005));
  EXPECT_TRUE(within(f13.self_attn_core, 6.594e12, 0.005));
  EXPECT_TRUE(within(f13.cross_attn_core, 1.03e11, 0.01));
  EXPECT_TRUE(within(f13.global, 2.2e10, 0.05)) << f13.global;
  EXPECT_TRUE(within(osp::dit::forward_flops(big, 75600), 6.523e15, 0.005));
  EXPECT_TRUE(within(osp::dit::forward_flops(big, 32760), 1.678e15, 0.005));
  const auto f14 = osp::dit::forward_flops_breakdown(big, 75600);
  EXPECT_TRUE(within(f14.self_attn_linear, 1.585e13, 0.005));
  EXPECT_TRUE(within(f14.ffn, 2.140e13, 0.005));
  EXPECT_TRUE(within(f14.self_attn_core, 1.1705e14, 0.005));
  EXPECT_TRUE(within(f14.global, 1.5e11, 0.05)) << f14.global;
}

// Tiny models, random weights and the float64 reference: tests/reference_dit.h.
using osp::test::Inputs;
using osp::test::random_inputs;
using osp::test::randomize;
using osp::test::Reference;
using osp::test::all_sparse;
using osp::test::tiny_config;

struct ParityCase {
  int64_t dim, heads, B, F, H, W, Lc;
  uint64_t seed;
};

class DiTParity : public ::testing::TestWithParam<ParityCase> {};

TEST_P(DiTParity, MatchesFloat64Reference) {
  const ParityCase pc = GetParam();
  const DiTConfig c = tiny_config(pc.dim, pc.heads);
  const Inputs in = random_inputs(c, pc.B, pc.F, pc.H, pc.W, pc.Lc, pc.seed + 100);
  for (const Precision precision : {kFp32, kBf16}) {
    WanDiT model(c, precision, c10::kCPU);
    randomize(model, pc.seed);
    const at::Tensor expected = Reference(model).forward(in);
    const at::Tensor v = model.forward(in.x, in.t, in.context);
    ASSERT_EQ(v.sizes(), in.x.sizes());
    EXPECT_EQ(v.scalar_type(), at::kFloat);
    EXPECT_GT(expected.abs().mean().item<double>(), 1e-2);
    const double err = rel_error(v, expected);
    std::printf("[ parity   ] %s dim=%ld B=%ld: relative error %.3g\n", precision.name().c_str(),
                static_cast<long>(pc.dim), static_cast<long>(pc.B), err);
    if (precision.reduced()) {
      EXPECT_LE(err, 3e-2) << "bf16";
      EXPECT_GE(err, 1e-5) << "bf16 mode should differ from float64 at bf16 level";
    } else {
      EXPECT_LE(err, 1e-5) << "fp32";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(TinyConfigs, DiTParity,
                         ::testing::Values(ParityCase{32, 2, 1, 2, 4, 6, 5, 1},
                                           ParityCase{64, 4, 2, 3, 8, 4, 11, 2},
                                           ParityCase{48, 3, 2, 2, 6, 6, 1, 3}));

TEST(WanDiT, NamedParametersAreTheCanonicalKeys) {
  const DiTConfig c = tiny_config(32, 2);
  const WanDiT model(c, kBf16, c10::kCPU);
  const auto params = model.named_parameters();
  const auto expected = c.expected_tensor_shapes();
  ASSERT_EQ(params.size(), expected.size());
  size_t i = 0;
  for (const auto& item : params) {
    EXPECT_EQ(item.key(), expected[i].first);
    EXPECT_EQ(item.value().sizes().vec(), expected[i].second) << item.key();
    ++i;
  }
  // "Precision" storage: bf16 GEMM operands in bf16, float32 elsewhere.
  EXPECT_EQ(params["blocks.1.self_attn.q.weight"].scalar_type(), at::kBFloat16);
  EXPECT_EQ(params["blocks.1.ffn.2.bias"].scalar_type(), at::kBFloat16);
  EXPECT_EQ(params["patch_embedding.weight"].scalar_type(), at::kBFloat16);
  EXPECT_EQ(params["blocks.1.modulation"].scalar_type(), at::kFloat);
  EXPECT_EQ(params["blocks.1.norm3.weight"].scalar_type(), at::kFloat);
  EXPECT_EQ(params["blocks.1.cross_attn.norm_k.weight"].scalar_type(), at::kFloat);
  EXPECT_EQ(params["time_projection.1.weight"].scalar_type(), at::kFloat);
  EXPECT_EQ(params["head.head.weight"].scalar_type(), at::kFloat);
}

// Sparse (OSP-Next) configs are accepted and run: their parity is tested in skiparse_test.cpp.
TEST(WanDiT, SparseScheduleIsAccepted) {
  DiTConfig c = tiny_config(32, 2);
  c.num_layers = 4;
  WanDiT model(all_sparse(c), kFp32, c10::kCPU);
  using osp::dit::BlockKind;
  EXPECT_EQ(model.schedule(),
            (std::vector<BlockKind>{BlockKind::kToken, BlockKind::kGroup, BlockKind::kToken, BlockKind::kGroup}));
}

// norm3 (affine) feeds the cross-attention only; norm2 (no parameters) the FFN ("Attention block" naming trap).
TEST(WanDiT, Norm3IsThePreCrossAttentionNorm) {
  const DiTConfig c = tiny_config(32, 2);
  WanDiT model(c, kFp32, c10::kCPU);
  randomize(model, 7);
  const Inputs in = random_inputs(c, 1, 2, 4, 4, 3, 8);
  const at::Tensor base = model.forward(in.x, in.t, in.context);
  c10::InferenceMode guard;
  model.blocks[1]->norm3->bias.add_(0.5);
  const at::Tensor changed = model.forward(in.x, in.t, in.context);
  EXPECT_GT(rel_error(changed, base), 1e-4);
  // With the cross-attention output projection of block 1 zeroed, norm3 no longer matters.
  model.blocks[1]->cross_attn->o->weight.zero_();
  model.blocks[1]->cross_attn->o->bias.zero_();
  const at::Tensor without_ca = model.forward(in.x, in.t, in.context);
  model.blocks[1]->norm3->bias.add_(0.7);
  EXPECT_TRUE(at::equal(model.forward(in.x, in.t, in.context), without_ca));
}

TEST(WanDiT, InvalidInputsNameTheTensor) {
  const DiTConfig c = tiny_config(32, 2);
  WanDiT model(c, kFp32, c10::kCPU);
  randomize(model, 9);
  const Inputs in = random_inputs(c, 2, 2, 4, 4, 3, 10);
  expect_error([&] { model.forward(in.x[0], in.t, in.context); }, {"x", "[4, 2, 4, 4]"});
  expect_error([&] { model.forward(in.x.narrow(1, 0, 3), in.t, in.context); }, {"x", "[2, 3, 2, 4, 4]"});
  expect_error([&] { model.forward(in.x.to(at::kDouble), in.t, in.context); }, {"x", "float32"});
  expect_error([&] { model.forward(in.x.narrow(3, 0, 3), in.t, in.context); }, {"x", "H = 3"});
  expect_error([&] { model.forward(in.x, in.t.narrow(0, 0, 1), in.context); }, {"t", "[1]"});
  expect_error([&] { model.forward(in.x, in.t.view({2, 1}), in.context); }, {"t", "[2, 1]"});
  expect_error([&] { model.forward(in.x, in.t, in.context.narrow(2, 0, 20)); }, {"context", "[2, 3, 20]", "24"});
  expect_error([&] { model.forward(in.x, in.t, in.context.narrow(0, 0, 1)); }, {"context", "[1, 3, 24]"});
  expect_error([&] { model.forward(in.x, in.t, at::zeros({2, 17, 24})); }, {"context", "text_len = 16"});
  // Full-length context and integer timesteps are fine.
  EXPECT_NO_THROW(model.forward(in.x, at::tensor({0, 999}, at::kLong), at::ones({2, 16, 24})));
}

// ---------------------------------------------------------------------------------------------
// Loader on an in-memory checkpoint (no files: independent of the io parsers)

class MemorySource : public osp::io::TensorSource {
 public:
  void add(const std::string& name, const at::Tensor& value) {
    names_.push_back(name);
    tensors_[name] = value;
    metas_[name] = osp::io::TensorMeta{osp::io::DType::kF32, value.sizes().vec(), "memory"};
  }
  const std::vector<std::string>& names() const override { return names_; }
  const osp::io::TensorMeta& meta(const std::string& name) const override {
    const auto it = metas_.find(name);
    if (it == metas_.end()) osp::fail_about(name, "no such tensor");
    return it->second;
  }
  bool contains(const std::string& name) const override { return metas_.count(name) != 0; }
  at::Tensor load(const std::string& name, std::optional<c10::ScalarType> dtype) const override {
    ++loads;
    const at::Tensor& t = tensors_.at(name);
    return dtype ? t.to(*dtype) : t.clone();
  }
  std::string format() const override { return "memory"; }
  std::string path() const override { return "memory.safetensors"; }
  mutable int loads = 0;

 private:
  std::vector<std::string> names_;
  std::map<std::string, at::Tensor> tensors_;
  std::map<std::string, osp::io::TensorMeta> metas_;
};

MemorySource checkpoint_of(const WanDiT& model, const std::string& prefix = "") {
  MemorySource source;
  for (const auto& item : model.named_parameters()) source.add(prefix + item.key(), item.value().to(at::kFloat));
  return source;
}

TEST(DiTLoader, LoadsEveryParameterByName) {
  const DiTConfig c = tiny_config(32, 2);
  WanDiT original(c, kFp32, c10::kCPU);
  randomize(original, 11);
  for (const std::string prefix : {"", "model.diffusion_model."}) {
    MemorySource source = checkpoint_of(original, prefix);
    source.add(prefix + "extra.tensor", at::ones({3}));
    WanDiT loaded(c, kBf16, c10::kCPU);
    const auto report = osp::dit::load_weights(loaded, source);
    EXPECT_EQ(report.loaded, static_cast<int64_t>(c.expected_tensor_shapes().size()));
    EXPECT_EQ(source.loads, report.loaded);  // one load per tensor, nothing read twice
    EXPECT_EQ(report.unexpected, std::vector<std::string>{prefix + "extra.tensor"});
    const auto a = original.named_parameters(), b = loaded.named_parameters();
    EXPECT_TRUE(at::equal(a["blocks.1.cross_attn.v.weight"].to(at::kBFloat16), b["blocks.1.cross_attn.v.weight"]));
    EXPECT_TRUE(at::equal(a["head.modulation"], b["head.modulation"]));
  }
}

TEST(DiTLoader, MissingAndMismatchedTensorsAreErrors) {
  const DiTConfig c = tiny_config(32, 2);
  WanDiT original(c, kFp32, c10::kCPU);
  randomize(original, 12);
  MemorySource missing;
  for (const auto& item : original.named_parameters()) {
    if (item.key() != "blocks.1.ffn.0.bias") missing.add(item.key(), item.value());
  }
  WanDiT target(c, kFp32, c10::kCPU);
  expect_error([&] { osp::dit::load_weights(target, missing); }, {"memory.safetensors", "blocks.1.ffn.0.bias", "missing"});
  EXPECT_EQ(missing.loads, 0);  // checked before anything is copied

  MemorySource wrong;
  for (const auto& item : original.named_parameters()) {
    wrong.add(item.key(), item.key() == "blocks.0.self_attn.k.weight" ? at::zeros({32, 31}) : item.value());
  }
  expect_error([&] { osp::dit::load_weights(target, wrong); }, {"blocks.0.self_attn.k.weight", "[32, 32]", "[32, 31]"});
}

TEST(DiTLoader, DetectsArchitectureFromShapes) {
  const DiTConfig c = tiny_config(32, 2);
  WanDiT model(c, kFp32, c10::kCPU);
  randomize(model, 13);
  const auto guess = osp::dit::detect_architecture(checkpoint_of(model));
  EXPECT_EQ(guess.config.dim, 32);
  EXPECT_EQ(guess.config.num_layers, 2);
  EXPECT_EQ(guess.config.ffn_dim, 48);
  EXPECT_EQ(guess.config.text_dim, 24);
  EXPECT_EQ(guess.config.out_dim, 4);
  EXPECT_TRUE(guess.preset.empty());
  EXPECT_THROW(osp::dit::detect_architecture(MemorySource()), osp::Error);
}

TEST(DiTLoader, FindsConfigBesideWeightsOrInDiffusersLayout) {
  namespace fs = std::filesystem;
  const fs::path root = fs::path(testing::TempDir()) / "osp_dit_find_config";
  fs::remove_all(root);
  fs::create_directories(root / "plain");
  fs::create_directories(root / "pipeline" / "transformer");
  fs::create_directories(root / "empty");
  std::ofstream(root / "plain" / "model.safetensors") << "";
  std::ofstream(root / "plain" / "config.json") << "{}";
  std::ofstream(root / "pipeline" / "transformer" / "config.json") << "{}";
  EXPECT_EQ(osp::dit::find_config((root / "plain" / "model.safetensors").string(), std::nullopt),
            (root / "plain" / "config.json").string());
  EXPECT_EQ(osp::dit::find_config((root / "plain").string(), std::nullopt), (root / "plain" / "config.json").string());
  EXPECT_EQ(osp::dit::find_config((root / "pipeline").string(), std::nullopt),
            (root / "pipeline" / "transformer" / "config.json").string());
  expect_error([&] { osp::dit::find_config((root / "empty").string(), std::nullopt); },
               {"no config.json in", "(pass --config)"});
  fs::remove_all(root);
}

}  // namespace
