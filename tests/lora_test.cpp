// LoRA adapters (src/osp/adapters, docs/lora.md): runtime adapters against merged weights (and
// the merged weights against an explicit float64 formula), stacked adapters against sequential
// merges, bypass and detach, shape and name errors that leave the model untouched, the trainable
// LoRA's exact start, LoRA SFT with a bit-identical base, exact resume on the same base only,
// merge-lora against an fp32 reference, and extract → merge recovering a rank-r difference.
#include <gtest/gtest.h>

#include <c10/core/InferenceMode.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "expect_error.h"
#include "reference_dit.h"
#include "scratch_dir.h"
#include "test_util.h"
#include "osp/adapters/adapter.h"
#include "osp/adapters/apply.h"
#include "osp/adapters/extract.h"
#include "osp/adapters/linear_layers.h"
#include "osp/adapters/merge_checkpoint.h"
#include "osp/adapters/trainable.h"
#include "osp/io/lora_file.h"
#include "osp/io/safetensors_writer.h"
#include "osp/io/tensor_source.h"
#include "osp/train/train_config.h"
#include "osp/train/trainer.h"

namespace {

namespace fs = std::filesystem;
using osp::adapters::Adapter;
using osp::dit::DiTConfig;
using osp::dit::WanDiT;
using osp::test::kBf16;
using osp::test::kFp32;
using osp::test::rel_error;

// Modules of every kind an adapter file may touch: attention, FFN, text and time embeddings, head.
const std::vector<std::string> kModules = {"blocks.0.self_attn.q", "blocks.0.self_attn.o", "blocks.1.cross_attn.k",
                                           "blocks.1.cross_attn.v", "blocks.0.ffn.0",     "blocks.1.ffn.2",
                                           "text_embedding.0",      "time_embedding.2",   "time_projection.1",
                                           "head.head"};

// A random adapter file for `model`: rank-r pairs on kModules with per-module alphas, plus a full
// weight delta and a bias delta on two of them.
osp::io::LoraFile random_lora(WanDiT& model, int64_t rank, uint64_t seed) {
  at::Generator g = at::detail::createCPUGenerator(seed);
  auto layers = osp::adapters::linear_layers(model);
  osp::io::LoraFile file;
  file.format = "peft";
  for (size_t i = 0; i < kModules.size(); ++i) {
    const osp::nn::LinearWeights& layer = *layers.at(kModules[i]);
    osp::io::LoraModule m;
    m.module = kModules[i];
    m.down = osp::test::randn({rank, layer.in_features()}, g, 0.2);
    m.up = osp::test::randn({layer.out_features(), rank}, g, 0.2);
    m.alpha = static_cast<double>(rank) * (1.0 + 0.25 * static_cast<double>(i % 3));
    if (i == 2) m.diff = osp::test::randn({layer.out_features(), layer.in_features()}, g, 0.02);
    if (i == 4 || i == 2) m.diff_b = osp::test::randn({layer.out_features()}, g, 0.05);
    m.source_key = "base_model.model." + kModules[i] + ".lora_A.weight";
    file.modules.push_back(std::move(m));
  }
  return file;
}

std::unique_ptr<WanDiT> random_model(const DiTConfig& c, osp::Precision precision, uint64_t seed) {
  auto model = std::make_unique<WanDiT>(c, precision);
  osp::test::randomize(*model, seed);
  return model;
}

at::Tensor forward(const WanDiT& model, const osp::test::Inputs& in) {
  c10::InferenceMode guard;
  return model.forward(in.x, in.t, in.context);
}

std::map<std::string, at::Tensor> weights_of(const WanDiT& model) {
  std::map<std::string, at::Tensor> out;
  for (const auto& item : model.named_parameters()) out[item.key()] = item.value().detach().clone();
  return out;
}

// W + Σ (alpha/r·user_scale·B·A + user_scale·D) in float64, the definition written out.
at::Tensor expected_merge(const at::Tensor& w, const std::vector<std::pair<const osp::io::LoraModule*, double>>& mods) {
  at::Tensor sum = w.to(at::kDouble);
  for (const auto& [m, user_scale] : mods) {
    const double scale = m->alpha.value_or(static_cast<double>(m->rank())) / static_cast<double>(m->rank()) * user_scale;
    sum = sum + scale * at::mm(m->up.to(at::kDouble), m->down.to(at::kDouble));
    if (m->diff.defined()) sum = sum + user_scale * m->diff.to(at::kDouble);
  }
  return sum;
}

// The forward with `file` attached (runtime) against the forward with it merged; also returns
// the merged model.
struct RuntimeVsMerged {
  double error;
  std::unique_ptr<WanDiT> merged;
};
RuntimeVsMerged runtime_vs_merged(const DiTConfig& c, osp::Precision precision, const osp::test::Inputs& in,
                                  uint64_t seed, const osp::io::LoraFile& file, double scale) {
  auto runtime = random_model(c, precision, seed), merged = random_model(c, precision, seed);
  Adapter a(file, scale), b(file, scale);
  a.attach(*runtime);
  b.merge_into(*merged);
  const double err = rel_error(forward(*runtime, in), forward(*merged, in));
  std::printf("[ lora     ] runtime vs merged forward (%s): %.3g\n", precision.name().c_str(), err);
  return {err, std::move(merged)};
}

TEST(LoraAdapter, RuntimeEqualsMergedAndMergedEqualsTheFormula) {
  const DiTConfig c = osp::test::tiny_config(32, 2);
  const osp::test::Inputs in = osp::test::random_inputs(c, 2, 2, 4, 4, 5, 11);
  auto base = random_model(c, kFp32, 3);
  const osp::io::LoraFile file = random_lora(*base, 4, 21);
  const RuntimeVsMerged r = runtime_vs_merged(c, kFp32, in, 3, file, 0.7);
  EXPECT_LE(r.error, 1e-5);
  // The merged weights are the definition, computed independently in float64.
  const auto base_weights = weights_of(*base), merged_weights = weights_of(*r.merged);
  for (const osp::io::LoraModule& m : file.modules) {
    const at::Tensor expected = expected_merge(base_weights.at(m.module + ".weight"), {{&m, 0.7}});
    EXPECT_LE(rel_error(merged_weights.at(m.module + ".weight"), expected), 1e-6) << m.module;
  }
  // The adapter changed the output (a test that cannot fail otherwise).
  EXPECT_GT(rel_error(forward(*base, in), forward(*r.merged, in)), 1e-3);
}

TEST(LoraAdapter, RuntimeEqualsMergedInBf16WithinRounding) {
  const DiTConfig c = osp::test::tiny_config(32, 2);
  const osp::test::Inputs in = osp::test::random_inputs(c, 1, 2, 4, 4, 5, 12);
  auto base = random_model(c, kBf16, 4);
  EXPECT_LE(runtime_vs_merged(c, kBf16, in, 4, random_lora(*base, 8, 22), 1.0).error, 3e-2);
}

TEST(LoraAdapter, StackedAdaptersEqualSequentialMerges) {
  const DiTConfig c = osp::test::tiny_config(32, 2);
  const osp::test::Inputs in = osp::test::random_inputs(c, 1, 2, 4, 4, 5, 13);
  auto runtime = random_model(c, kFp32, 5), merged = random_model(c, kFp32, 5);
  const osp::io::LoraFile first = random_lora(*runtime, 4, 31), second = random_lora(*runtime, 2, 32);
  Adapter a1(first, 0.5), a2(second, -1.5), m1(first, 0.5), m2(second, -1.5);
  a1.attach(*runtime);
  a2.attach(*runtime);
  m1.merge_into(*merged);
  m2.merge_into(*merged);
  EXPECT_LE(rel_error(forward(*runtime, in), forward(*merged, in)), 1e-5);
}

TEST(LoraAdapter, BypassDetachAndUnmergeGiveTheBaseBack) {
  const DiTConfig c = osp::test::tiny_config(32, 2);
  const osp::test::Inputs in = osp::test::random_inputs(c, 1, 2, 4, 4, 5, 14);
  auto model = random_model(c, kFp32, 6);
  const at::Tensor base = forward(*model, in);
  Adapter a(random_lora(*model, 4, 41), 1.0);
  a.attach(*model);
  EXPECT_GT(rel_error(forward(*model, in), base), 1e-3);
  a.set_enabled(false);
  EXPECT_TRUE(at::equal(forward(*model, in), base));  // the RL reference policy: bit-identical
  a.set_enabled(true);
  a.detach(*model);
  EXPECT_TRUE(at::equal(forward(*model, in), base));
  a.merge_into(*model);
  a.unmerge_from(*model);
  EXPECT_LE(rel_error(forward(*model, in), base), 1e-5);
}

TEST(LoraAdapter, AnAdapterForAnotherWidthIsRejectedWholeNamingKeyAndShapes) {
  const DiTConfig small = osp::test::tiny_config(32, 2), wide = osp::test::tiny_config(64, 4);
  auto model = random_model(small, kFp32, 7), other = random_model(wide, kFp32, 7);
  osp::io::LoraFile file = random_lora(*other, 4, 51);
  // The first module fits (a 1.3B LoRA shares nothing with 14B, but keep one fitting module to
  // show that nothing is applied when a later one fails).
  file.modules.front() = random_lora(*model, 4, 52).modules.front();
  const auto before = weights_of(*model);
  Adapter a(file, 1.0);
  osp::test::expect_error([&] { a.merge_into(*model); }, {file.modules[1].source_key, "[4, 64]", "[32, 32]"});
  osp::test::expect_error([&] { a.attach(*model); }, {file.modules[1].source_key, "does not fit"});
  for (const auto& [name, w] : weights_of(*model)) EXPECT_TRUE(at::equal(w, before.at(name))) << name;
  for (const auto& [name, layer] : osp::adapters::linear_layers(*model)) EXPECT_TRUE(layer->adapters.empty()) << name;
  // A module the model does not have.
  osp::io::LoraFile unknown = random_lora(*model, 4, 53);
  unknown.modules.back().module = "blocks.7.self_attn.q";
  unknown.modules.back().source_key = "lora_unet_blocks_7_self_attn_q.lora_down.weight";
  Adapter u(unknown, 1.0);
  osp::test::expect_error([&] { u.attach(*model); }, {"lora_unet_blocks_7_self_attn_q", "no linear layer"});
}

TEST(LoraAdapter, MergingIntoEightBitWeightsIsRefusedAndRuntimeIsChosen) {
  const DiTConfig c = osp::test::tiny_config(32, 2);
  auto model = random_model(c, kFp32, 8);
  auto layers = osp::adapters::linear_layers(*model);
  layers.at("blocks.0.self_attn.q")->set_quantized(osp::quant::quantize_weight(layers.at("blocks.0.self_attn.q")->weight,
                                                                               osp::quant::WeightFormat::kHiF8));
  std::vector<osp::adapters::LoadedLora> loras(1);
  loras[0].adapter = Adapter(random_lora(*model, 4, 61), 1.0);
  EXPECT_EQ(osp::adapters::apply_loras(*model, loras, osp::adapters::LoraMode::kMerged),
            osp::adapters::LoraMode::kRuntime);
  EXPECT_EQ(layers.at("blocks.0.self_attn.q")->adapters.size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// Training

TEST(LoraTraining, AFreshLoraEqualsTheBaseExactly) {
  const DiTConfig c = osp::test::tiny_config(32, 2);
  const osp::test::Inputs in = osp::test::random_inputs(c, 1, 2, 4, 4, 5, 15);
  for (const osp::Precision precision : {kFp32, kBf16}) {
    auto model = random_model(c, precision, 9);
    const at::Tensor base = forward(*model, in);
    osp::adapters::LoraTrainingSpec spec;
    spec.rank = 4;
    spec.alpha = 8;
    Adapter lora = osp::adapters::make_trainable_lora(*model, spec, at::detail::createCPUGenerator(1));
    EXPECT_EQ(lora.entries().size(), 8u * 2u);  // q, k, v, o of self and cross attention, 2 blocks
    const at::Tensor a = lora.entries()[0].delta->down;
    EXPECT_NEAR(a.std().item<double>(), 1.0 / 4.0, 0.05);  // gaussian init: std 1/r
    EXPECT_TRUE(lora.entries()[0].delta->up.eq(0).all().item<bool>());
    lora.attach(*model);
    EXPECT_TRUE(at::equal(forward(*model, in), base)) << precision.name();
    // Gradients reach A and B only; B's gradient is non-zero (A's is zero while B = 0).
    for (const auto& p : model->parameters()) p.requires_grad_(false);
    const at::Tensor v = model->forward(in.x, in.t, in.context);
    v.pow(2).sum().backward();
    for (const auto& p : model->parameters()) EXPECT_FALSE(p.grad().defined());
    EXPECT_GT(lora.entries()[0].delta->up.grad().abs().sum().item<double>(), 0.0);
  }
}

constexpr const char* kMicroModel =
    "model:\n"
    "  fields: {dim: 32, ffn_dim: 48, num_heads: 2, num_layers: 2, freq_dim: 32, text_dim: 24, text_len: 8,\n"
    "           in_dim: 4, out_dim: 4}\n"
    "  weights: BASE\n"
    "data:\n"
    "  synthetic: {samples: 6, frames: 2, height: 4, width: 4, text_tokens: 5, seed: 4}\n"
    "lora: {rank: 4, alpha: 8}\n"
    "optimizer: {lr: 2.0e-2, warmup_steps: 0, grad_clip: 1.0}\n"
    "batch_size: 2\nprecision: fp32\ncaption_dropout: 0.2\nema_decay: 0.9\nseed: 5\n";

// A base checkpoint of the micro model (random weights of `seed`) at `path`.
void write_base(const std::string& path, uint64_t seed) {
  std::string yaml = kMicroModel;
  yaml.erase(yaml.find("  weights: BASE\n"), std::string("  weights: BASE\n").size());
  const osp::train::TrainConfig c = osp::train::TrainConfig::from_yaml(yaml + "output_dir: x\n");
  auto model = random_model(c.model, kFp32, seed);
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& item : model->named_parameters()) tensors.emplace_back(item.key(), item.value().detach());
  osp::io::write_safetensors(path, tensors);
}

std::string lora_config(const std::string& base, const std::string& out, int64_t steps, int64_t checkpoint_every = 0) {
  std::string yaml = kMicroModel;
  yaml.replace(yaml.find("BASE"), 4, base);
  return yaml + "steps: " + std::to_string(steps) + "\ncheckpoint_every: " + std::to_string(checkpoint_every) +
         "\noutput_dir: " + out + "\n";
}

osp::train::Trainer make_trainer(const std::string& yaml) {
  return osp::train::Trainer(osp::train::TrainConfig::from_yaml(yaml),
                             osp::train::make_objective(osp::train::TrainConfig::from_yaml(yaml)));
}

TEST(LoraTraining, SftLowersTheLossAndLeavesTheBaseBitIdentical) {
  const osp::test::ScratchDir dir;
  const std::string base = dir / "base.safetensors";
  write_base(base, 17);
  osp::train::Trainer trainer = make_trainer(lora_config(base, dir / "run", 20));
  std::map<std::string, at::Tensor> before;
  for (const auto& item : trainer.model().named_parameters()) before[item.key()] = item.value().detach().clone();
  const auto stats = trainer.run();
  double first = 0, last = 0;
  for (int i = 0; i < 5; ++i) first += stats[i].loss / 5, last += stats[15 + i].loss / 5;
  std::printf("[ lora     ] LoRA SFT 20 steps: mean loss of steps 1-5 %.4f, of steps 16-20 %.4f\n", first, last);
  EXPECT_LT(last, 0.9 * first);
  for (const auto& item : trainer.model().named_parameters()) {
    EXPECT_TRUE(at::equal(item.value(), before.at(item.key()))) << item.key();
  }
  // The checkpoint holds the adapter (PEFT names), its EMA and moments, not the base.
  const fs::path ckpt = dir.path() / "run" / "checkpoints" / "step-00000020";
  const auto model = osp::io::open_tensor_source((ckpt / "model.safetensors").string());
  EXPECT_EQ(model->names().size(), 2u * 16u);
  for (const auto& name : model->names()) EXPECT_NE(name.find(".lora_"), std::string::npos) << name;
  EXPECT_TRUE(fs::exists(ckpt / "adapter_config.json"));
  // It is an adapter file: it loads as one and as the EMA adapter.
  const osp::io::LoraFile live = osp::io::read_lora_file(osp::adapters::resolve_adapter_file(ckpt.string()));
  const osp::io::LoraFile ema = osp::io::read_lora_file(osp::adapters::resolve_adapter_file(ckpt.string(), true));
  EXPECT_EQ(live.modules.size(), 16u);
  EXPECT_DOUBLE_EQ(live.modules[0].scale(), 2.0);
  EXPECT_FALSE(at::equal(live.modules[0].up, ema.modules[0].up));
}

TEST(LoraTraining, ResumeIsExactAndRefusesAnotherBase) {
  const osp::test::ScratchDir dir;
  const std::string base = dir / "base.safetensors", other = dir / "other.safetensors";
  write_base(base, 17);
  write_base(other, 18);
  osp::train::Trainer whole = make_trainer(lora_config(base, dir / "a", 6, 3));
  const auto uninterrupted = whole.run();
  osp::train::Trainer resumed = make_trainer(lora_config(base, dir / "b", 6));
  resumed.resume((dir.path() / "a" / "checkpoints" / "step-00000003").string());
  const auto continued = resumed.run();
  ASSERT_EQ(continued.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(continued[i].loss, uninterrupted[3 + i].loss) << i;
  osp::train::Trainer wrong = make_trainer(lora_config(other, dir / "c", 6));
  osp::test::expect_error([&] { wrong.resume(dir / "a"); }, {"trained on the base", base});
}

// ---------------------------------------------------------------------------------------------
// merge-lora and extract

// A base checkpoint in `dtype` with config.json, and a LoRA file for it.
struct MergeCase {
  std::string base, lora;
  osp::io::LoraFile file;
  std::map<std::string, at::Tensor> weights;  // the base's stored values
};

MergeCase write_merge_case(const fs::path& dir, at::ScalarType dtype) {
  const DiTConfig c = osp::test::tiny_config(32, 2);
  auto model = random_model(c, kFp32, 19);
  MergeCase m;
  m.base = (dir / "base" / "model.safetensors").string();
  fs::create_directories(dir / "base");
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& item : model->named_parameters()) {
    tensors.emplace_back(item.key(), item.value().detach().to(dtype));
    m.weights[item.key()] = tensors.back().second;
  }
  osp::io::write_safetensors(m.base, tensors);
  std::ofstream(dir / "base" / "config.json") << c.to_json().dump();
  m.file = random_lora(*model, 4, 71);
  m.file.adapter_config = {{"r", 4}, {"lora_alpha", 4}};
  m.lora = (dir / "lora.safetensors").string();
  osp::io::write_lora_file(m.lora, m.file);
  m.file = osp::io::read_lora_file(m.lora);  // the alphas as stored
  return m;
}

TEST(LoraMerge, CheckpointEqualsAnFp32ReferenceInTheStoredDtype) {
  const osp::test::ScratchDir dir;
  for (const at::ScalarType dtype : {at::kFloat, at::kBFloat16}) {
    const fs::path sub = dir.path() / (dtype == at::kFloat ? "f32" : "bf16");
    const MergeCase m = write_merge_case(sub, dtype);
    auto loras = osp::adapters::load_loras({{m.lora, 0.6}});
    const std::string out = (sub / "merged" / "dit.safetensors").string();
    fs::create_directories(sub / "merged");
    const auto summary = osp::adapters::merge_checkpoint(m.base, loras, out);
    EXPECT_EQ(summary.weights_merged, static_cast<int64_t>(kModules.size()));
    EXPECT_TRUE(fs::exists(sub / "merged" / "config.json"));
    const auto merged = osp::io::open_tensor_source(out);
    for (const osp::io::LoraModule& mod : m.file.modules) {
      const std::string name = mod.module + ".weight";
      const at::Tensor expected =
          expected_merge(m.weights.at(name).to(at::kFloat), {{&mod, 0.6}}).to(at::kFloat).to(dtype);
      const at::Tensor got = merged->load(name);
      EXPECT_EQ(got.scalar_type(), dtype);
      // fp32: equal to rounding; bf16: at most one bf16 step apart (the fp32 sums may round apart).
      const double tolerance = dtype == at::kFloat ? 1e-6 : 8e-3;
      EXPECT_LE(rel_error(got, expected), tolerance) << name;
      EXPECT_LE((got.to(at::kFloat) - expected.to(at::kFloat)).abs().max().item<double>(),
                dtype == at::kFloat ? 1e-5 : expected.to(at::kFloat).abs().max().item<double>() / 128.0)
          << name;
    }
    // Untouched tensors are copied bit for bit.
    EXPECT_TRUE(at::equal(merged->load("blocks.0.self_attn.k.weight"), m.weights.at("blocks.0.self_attn.k.weight")));
  }
}

TEST(LoraMerge, ABadAdapterWritesNothing) {
  const osp::test::ScratchDir dir;
  const MergeCase m = write_merge_case(dir.path(), at::kFloat);
  osp::io::LoraFile wide = m.file;
  size_t bad = 0;
  while (wide.modules[bad].diff.defined()) ++bad;  // a pair alone: the reader cannot see its width is wrong
  wide.modules[bad].down = at::zeros({4, 33});
  osp::io::write_lora_file(dir / "wide.safetensors", wide);
  auto loras = osp::adapters::load_loras({{dir / "wide.safetensors", 1.0}});
  const std::string out = dir / "out.safetensors";
  osp::test::expect_error([&] { osp::adapters::merge_checkpoint(m.base, loras, out); }, {wide.modules[bad].module, "[4, 33]"});
  EXPECT_FALSE(fs::exists(out));
}

TEST(LoraExtract, ExtractThenMergeRecoversARankRDifference) {
  const osp::test::ScratchDir dir;
  const MergeCase m = write_merge_case(dir.path(), at::kFloat);
  // The tuned model: the base plus a rank-3 difference on three linears and a changed bias.
  at::Generator g = at::detail::createCPUGenerator(81);
  std::vector<std::pair<std::string, at::Tensor>> tuned;
  std::map<std::string, at::Tensor> expected;
  for (const auto& [name, w] : m.weights) {
    at::Tensor t = w.clone();
    if (name == "blocks.0.self_attn.v.weight" || name == "blocks.1.ffn.0.weight" || name == "head.head.weight") {
      t += at::mm(osp::test::randn({w.size(0), 3}, g, 0.1), osp::test::randn({3, w.size(1)}, g, 0.1));
    }
    if (name == "blocks.1.cross_attn.o.bias") t += 0.25;
    if (name == "blocks.0.norm_k.weight" || name == "blocks.0.self_attn.norm_q.weight") t += 0.5;  // not a linear
    tuned.emplace_back(name, t);
    expected[name] = t;
  }
  osp::io::write_safetensors(dir / "tuned.safetensors", tuned);
  const auto exact = osp::adapters::extract_lora(m.base, dir / "tuned.safetensors", 3);
  EXPECT_EQ(exact.modules.size(), 3u);
  EXPECT_EQ(exact.file.modules.size(), 4u);  // + the bias-only module
  EXPECT_LE(exact.relative_error, 1e-6);
  EXPECT_EQ(exact.not_expressible, std::vector<std::string>{"blocks.0.self_attn.norm_q.weight"});
  osp::io::write_lora_file(dir / "extracted.safetensors", exact.file);
  auto loras = osp::adapters::load_loras({{dir / "extracted.safetensors", 1.0}});
  osp::adapters::merge_checkpoint(m.base, loras, dir / "merged.safetensors");
  const auto merged = osp::io::open_tensor_source(dir / "merged.safetensors");
  for (const auto& [name, t] : expected) {
    if (name == "blocks.0.self_attn.norm_q.weight") continue;  // reported, not carried
    EXPECT_LE((merged->load(name) - t).abs().max().item<double>(), 1e-5) << name;
  }
  // A lower rank cannot hold it: the error is reported, not hidden.
  const auto truncated = osp::adapters::extract_lora(m.base, dir / "tuned.safetensors", 1);
  std::printf("[ lora     ] extract of a rank-3 difference: rank 3 error %.2e, rank 1 error %.3f\n",
              exact.relative_error, truncated.relative_error);
  EXPECT_GT(truncated.relative_error, 0.1);
}

}  // namespace
