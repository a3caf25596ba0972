// The generation memory planner (pipeline/generation_memory_plan.h): its activation coefficients
// against the tensor bytes a counting allocator sees during real DiT forwards, umT5 encodes and VAE
// decodes of shapes other than the ones they were fitted on; its weight sizes against loaded models;
// the policy choice for budgets; and the budget errors of a generation.
#include <gtest/gtest.h>

#include <c10/core/InferenceMode.h>

#include <filesystem>
#include <iostream>

#include "counting_allocator.h"
#include "expect_error.h"
#include "integration/run_osp.h"
#include "reference_dit.h"
#include "test_util.h"
#include "osp/core/memory_size.h"
#include "osp/core/runtime.h"
#include "osp/models/dit/model.h"
#include "osp/models/dit/text_context.h"
#include "osp/models/t5/encoder.h"
#include "osp/models/t5/random_weights.h"
#include "osp/models/vae/codec.h"
#include "osp/models/vae/model.h"
#include "osp/models/vae/random_weights.h"
#include "osp/pipeline/generation_memory_plan.h"
#include "osp/pipeline/text_to_video.h"
#include "osp/pipeline/tiny_bundle.h"

namespace osp::pipeline {
namespace {

namespace fs = std::filesystem;
using test::CountingCpuAllocator;

// Peak bytes above what was alive when `work` started.
template <typename Work>
int64_t counted_peak(Work&& work) {
  CountingCpuAllocator counter;
  CountingCpuAllocator::Scope scope(counter);
  const int64_t before = counter.live();
  work();
  return counter.peak() - before;
}

void expect_close(int64_t predicted, int64_t counted, double tolerance, const std::string& what) {
  const double ratio = static_cast<double>(predicted) / static_cast<double>(std::max<int64_t>(counted, 1));
  std::cout << what << ": predicted " << predicted << " counted " << counted << " ratio " << ratio << "\n";
  EXPECT_GT(ratio, 1.0 - tolerance) << what;
  EXPECT_LT(ratio, 1.0 + tolerance) << what;
}

dit::DiTConfig dit_width(int64_t dim, int64_t heads, int64_t ffn) {
  dit::DiTConfig c = test::tiny_config(dim, heads);
  c.ffn_dim = ffn;
  c.validate();
  return c;
}

TEST(GenerationMemoryPlan, DiTForwardActivationsAreThePlanned) {
  struct Case {
    dit::DiTConfig config;
    int64_t frames, side, rows;
    Precision precision;
  };
  const std::vector<Case> cases = {{dit_width(64, 4, 256), 3, 24, 1, test::kFp32},
                                   {dit_width(96, 6, 384), 2, 32, 2, test::kFp32},
                                   {dit_width(48, 3, 960), 2, 36, 1, test::kFp32},  // F = 20 D: the FFN part
                                   {dit_width(48, 3, 960), 2, 36, 1, test::kBf16},
                                   {dit_width(128, 8, 320), 3, 20, 1, test::kBf16},
                                   {dit_width(64, 4, 512), 2, 28, 2, test::kBf16}};
  for (const Case& c : cases) {
    dit::WanDiT model(c.config, c.precision);
    test::randomize(model, 3);
    const at::Tensor x = test::randn({c.rows, c.config.in_dim, c.frames, c.side, c.side}, 4);
    const at::Tensor t = at::full({c.rows}, 500.0, at::kFloat);
    dit::TextContext text(test::randn({c.rows, 9, c.config.text_dim}, 5));
    c10::InferenceMode inference;
    model.forward(x, t, text);  // the cross-attention keys/values are cached by the first forward
    const int64_t counted = counted_peak([&] { model.forward(x, t, text); });
    const int64_t tokens = c.frames * (c.side / 2) * (c.side / 2);
    expect_close(dit_activation_bytes(c.config, tokens, c.rows, c.precision), counted, 0.25,
                 fmt::format("DiT dim {} ffn {} tokens {} rows {} {}", c.config.dim, c.config.ffn_dim, tokens, c.rows,
                             c.precision.name()));
  }
}

TEST(GenerationMemoryPlan, TextEncoderActivationsAreThePlanned) {
  struct Case {
    int64_t d_model, heads, d_ff, text_len;
  };
  for (const Case k : {Case{128, 8, 320, 100}, Case{128, 8, 320, 300}, Case{96, 12, 384, 200}, Case{192, 4, 256, 150}})
  for (const Precision precision : {test::kFp32, test::kBf16}) {
    t5::T5Config c;
    c.vocab_size = 100;
    c.d_model = k.d_model;
    c.d_kv = 16;
    c.num_heads = k.heads;
    c.d_ff = k.d_ff;
    c.num_layers = 2;
    c.text_len = k.text_len;
    c.validate();
    t5::T5Encoder encoder(c, precision);
    t5::randomize_t5_weights(encoder, 7);
    const at::Tensor ids = at::randint(0, c.vocab_size, {1, c.text_len}, at::kLong);
    const at::Tensor mask = at::ones({1, c.text_len}, at::kLong);
    c10::InferenceMode inference;
    const int64_t counted = counted_peak([&] { encoder.forward(ids, mask); });
    expect_close(t5_activation_bytes(c, precision), counted, 0.2,
                 fmt::format("umT5 d {} heads {} ff {} L {} {}", c.d_model, c.num_heads, c.d_ff, c.text_len, precision.name()));
  }
}

TEST(GenerationMemoryPlan, VaeChunkBytesAreThePlanned) {
  for (const int64_t side : {64, 128}) {
    vae::VaeConfig c = vae::VaeConfig::wan21();
    c.base_dim = side == 64 ? 96 : 48;
    vae::WanVAE model(c);
    vae::randomize_weights(model, 9);
    const at::Tensor latents = test::randn({1, c.z_dim, 3, side / 8, side / 8}, 10);  // chunks of 1, 4, 4 frames
    c10::InferenceMode inference;
    const int64_t counted = counted_peak([&] { vae::decode_stream(model, latents, [](const at::Tensor&) {}); });
    // One chunk's working set plus its frames handed to the sink.
    const int64_t frames = 4 * 3 * side * side * 4;
    expect_close(vae_chunk_bytes(c, 4, side, side) + frames, counted, 0.25,
                 fmt::format("VAE base_dim {} {}×{}", c.base_dim, side, side));
  }
}

// One tiny bundle for the suite.
class GenerationPlanE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new fs::path(fs::temp_directory_path() / fmt::format("osp_plan_bundle_{}", ::getpid()));
    fs::remove_all(*root_);
    TinyBundleOptions options;
    options.seed = 5;
    write_tiny_bundle(root_->string(), options);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*root_);
    delete root_;
  }
  static ModelBundle bundle() { return resolve_bundle(root_->string()); }
  static GenerationShape shape() {
    const GenerationParams p = defaults_for(bundle());
    return {p.width, p.height, p.frames, p.guidance, test::kFp32};
  }
  static inline fs::path* root_ = nullptr;
};

TEST_F(GenerationPlanE2E, WeightBytesAreTheLoadedModels) {
  const GenerationFootprint f = read_footprint(bundle(), test::kFp32, "");
  const auto dit = dit::load_dit(bundle().dit.path, bundle().dit.config, test::kFp32, c10::kCPU);
  int64_t total = 0, block = 0;
  for (const auto& p : dit->parameters()) total += p.numel() * 4;
  for (const auto& p : dit->blocks[0]->parameters()) block += p.numel() * 4;
  EXPECT_EQ(f.dit_weights.total, total);
  EXPECT_EQ(f.dit_weights.largest, block);
  EXPECT_EQ(f.dit_weights.groups, f.dit.num_layers);
  EXPECT_EQ(f.dit_weights.outside, total - f.dit.num_layers * block);
  EXPECT_EQ(f.text_weights.groups, f.t5.num_layers);
  EXPECT_EQ(f.text_weights.embedding, f.t5.vocab_size * f.t5.d_model * 4);
  EXPECT_GT(f.vae_weights, 0);
  // bf16 halves the DiT's GEMM weights (norms and modulation stay float32) and the encoder's.
  const GenerationFootprint half = read_footprint(bundle(), test::kBf16, "");
  EXPECT_LT(half.dit_weights.total, total * 3 / 5);
  EXPECT_EQ(half.text_weights.total * 2, f.text_weights.total);
}

TEST_F(GenerationPlanE2E, ChoosesTheFastestPolicyThatFitsAndNamesTheShortfall) {
  // The bundle's configs with a DiT of 40 blocks of 100 MiB: the sampling stage is the largest.
  GenerationFootprint f = read_footprint(bundle(), test::kFp32, "");
  f.dit_weights = {40 * (int64_t{100} << 20) + (int64_t{24} << 20), int64_t{24} << 20, int64_t{100} << 20, 40, 0};
  const GenerationShape s = shape();
  const int64_t runtime = 100 << 20;
  const PolicyRequest automatic{Offload::kAuto, CfgBatch::kAuto, kAutoTile, 16};
  const MemoryPolicy roomy = choose_memory_policy(f, s, automatic, int64_t{1} << 40, runtime);
  EXPECT_EQ(roomy.dit, Offload::kNone);
  EXPECT_EQ(roomy.text, Offload::kNone);
  EXPECT_EQ(roomy.tile_size, 0);
  EXPECT_FALSE(roomy.batch_guidance);
  // A budget between the streamed and the resident sampling stage streams the DiT, and batches guidance.
  const MemoryPolicy resident{Offload::kNone, Offload::kNone, false, 0, 16};
  const MemoryPolicy streamed{Offload::kNone, Offload::kBlocks, true, 0, 16};
  const GenerationMemoryPlan a = plan_generation_memory(f, s, resident, runtime);
  const GenerationMemoryPlan b = plan_generation_memory(f, s, streamed, runtime);
  ASSERT_LT(b.stages[1].total(), a.stages[1].total());
  const int64_t between = runtime + (a.stages[1].total() + b.stages[1].total()) / 2;
  ASSERT_GE(between, runtime + std::max(a.stages[0].total(), a.stages[2].total()));  // the DiT's is the largest stage
  const MemoryPolicy tight = choose_memory_policy(f, s, automatic, between, runtime);
  EXPECT_EQ(tight.dit, Offload::kBlocks);
  EXPECT_TRUE(tight.batch_guidance);
  EXPECT_LE(plan_generation_memory(f, s, tight, runtime).peak(), between);
  test::expect_error([&] { choose_memory_policy(f, s, automatic, runtime + 1024, runtime); },
                     {"--max-memory", "needs at least"});
  // Explicit choices stay, and are checked.
  const PolicyRequest fixed{Offload::kNone, CfgBatch::kOff, 0, 16};
  EXPECT_EQ(choose_memory_policy(f, s, fixed, int64_t{1} << 40, runtime).dit, Offload::kNone);
  test::expect_error([&] { choose_memory_policy(f, s, fixed, runtime + 1024, runtime, "--max-memory"); },
                     {"--max-memory"});
}

TEST_F(GenerationPlanE2E, AutoTilesTheDecodeWhenWholeFramesDoNotFit) {
  const GenerationFootprint f = read_footprint(bundle(), test::kFp32, "");
  GenerationShape s = shape();
  s.width = 512;
  s.height = 256;
  const MemoryPolicy whole{Offload::kBlocks, Offload::kBlocks, true, 0, 16};
  const MemoryPolicy tiles{Offload::kBlocks, Offload::kBlocks, true, 128, 16};
  const int64_t runtime = 0;
  const GenerationMemoryPlan untiled = plan_generation_memory(f, s, whole, runtime);
  const GenerationMemoryPlan tiled = plan_generation_memory(f, s, tiles, runtime);
  ASSERT_LT(tiled.stages[2].total(), untiled.stages[2].total());
  const int64_t others = std::max(untiled.stages[0].total(), untiled.stages[1].total());
  const int64_t budget = std::max(others, tiled.stages[2].total());
  ASSERT_LT(budget, untiled.stages[2].total());  // whole frames do not fit
  const MemoryPolicy chosen = choose_memory_policy(f, s, {Offload::kBlocks, CfgBatch::kAuto, kAutoTile, 16}, budget, runtime);
  EXPECT_GT(chosen.tile_size, 0);
  EXPECT_LE(plan_generation_memory(f, s, chosen, runtime).peak(), budget);
}

TEST_F(GenerationPlanE2E, AGenerationOverItsBudgetFailsBeforeLoading) {
  GenerationParams p = defaults_for(bundle());
  p.steps = 2;
  PipelineOptions options;
  options.offload = Offload::kAuto;
  options.max_memory = 1 << 20;  // 1 MiB: less than the process itself
  GenerationJob job;
  job.prompt = "a red circle";
  job.output = (fs::temp_directory_path() / fmt::format("osp_plan_{}.mp4", ::getpid())).string();
  test::expect_error([&] { generate(bundle(), p, {job}, options); }, {"--max-memory", "needs at least"});
  EXPECT_FALSE(fs::exists(job.output));
  // With room, auto runs resident and reports its planned peak.
  options.max_memory = int64_t{64} << 30;
  const GenerationReport report = generate(bundle(), p, {job}, options);
  EXPECT_EQ(report.failed(), 0);
  EXPECT_GT(report.planned_peak_bytes, 0);
  EXPECT_NE(report.policy.find("DiT resident"), std::string::npos) << report.policy;
  fs::remove(job.output);
}

TEST_F(GenerationPlanE2E, PlanAndInfoCommandsPrintTheMemoryAndRejectBadInput) {
  const std::string model = root_->string();
  const auto plan = test::run_osp("plan generate --model " + model + " -W 32 -H 32 --frames 5 --max-memory 64G");
  ASSERT_EQ(plan.exit_code, 0) << plan.output;
  for (const char* part : {"policy: text encoder resident, DiT resident", "policy: text encoder streamed, DiT streamed",
                           "blocks (computing, read ahead)", "cross-attention keys/values (2 contexts)", "feature caches",
                           "chosen for the budget", "budget 64.00 GiB: fits"}) {
    EXPECT_NE(plan.output.find(part), std::string::npos) << part << " in\n" << plan.output;
  }
  const auto info = test::run_osp("info " + model);
  ASSERT_EQ(info.exit_code, 0) << info.output;
  for (const char* part : {"osp bundle", "memory (bf16 compute", "DiT          resident", "text encoder resident",
                           "architecture:"}) {
    EXPECT_NE(info.output.find(part), std::string::npos) << part << " in\n" << info.output;
  }
  test::expect_cli_error("plan generate --model " + model + " --max-memory lots", "--max-memory");
  test::expect_cli_error("plan generate --model " + model + " --offload sometimes", "--offload");
  test::expect_cli_error("plan generate --model " + model + " --vae-tile-size big", "--vae-tile-size");
  test::expect_cli_error("plan generate --model " + model + " -W 30", "-W");
  test::expect_cli_error("plan generate --model " + model + " --max-memory 1M", "needs at least");
  const std::string out = (fs::temp_directory_path() / fmt::format("osp_plan_cli_{}.mp4", ::getpid())).string();
  test::expect_cli_error("generate --model " + model + " -W 32 -H 32 --frames 5 -p hi --offload auto --max-memory 1M -o " + out,
                         "--max-memory");
  test::expect_cli_error("generate --model " + model + " -p hi --cfg-batch maybe -o " + out, "--cfg-batch");
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace osp::pipeline
