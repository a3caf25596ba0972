// The training memory planner (train/memory_plan.h): its parameter count against constructed
// models, its activation and gradient bytes against the tensor bytes counted over real training
// steps of shapes it was not calibrated on (with and without activation checkpointing), its total
// against the peak RSS of a real replicated run, the published 14B plan, and bad input.
#include <gtest/gtest.h>

#include <cstdio>

#include "expect_error.h"
#include "integration/run_osp.h"
#include "reference_dit.h"
#include "scratch_dir.h"
#include "test_util.h"
#include "training_bytes.h"
#include "osp/core/runtime.h"
#include "osp/core/memory_size.h"
#include "osp/models/dit/model.h"
#include "osp/train/memory_plan.h"
#include "osp/train/trainer.h"

namespace {

using osp::dit::DiTConfig;
using osp::dit::WanDiT;
using osp::train::MemoryPlan;
using osp::train::TrainShape;

DiTConfig width(int64_t dim, int64_t heads, int64_t ffn, int64_t layers) {
  DiTConfig c = osp::test::tiny_config(dim, heads);
  c.ffn_dim = ffn;
  c.num_layers = layers;
  c.validate();
  return c;
}

int64_t line(const MemoryPlan& plan, const std::string& prefix) {
  int64_t sum = 0;
  for (const auto& l : plan.lines) sum += l.what.rfind(prefix, 0) == 0 ? l.bytes : 0;
  return sum;
}

TEST(MemoryPlan, BlockAndModelCountsAreTheModels) {
  for (DiTConfig c : {width(32, 2, 48, 2), width(96, 4, 200, 3), DiTConfig::preset("wan2.1-t2v-1.3b")}) {
    if (c.dim > 1000) c.num_layers = 1;  // the real widths, one block
    const WanDiT model(c, osp::test::kFp32);
    int64_t counted = 0;
    for (const auto& p : model.parameters()) counted += p.numel();
    int64_t block = 0;
    for (const auto& p : model.blocks[0]->parameters()) block += p.numel();
    TrainShape shape;
    shape.model = c;
    shape.width = shape.height = 64;
    shape.frames = 5;
    shape.ranks = 2;
    shape.shard_full = true;
    shape.precision = osp::test::kFp32;
    const MemoryPlan plan = osp::train::plan_training_memory(shape);
    EXPECT_EQ(plan.parameters, counted) << "dim " << c.dim;
    // Two gathered blocks, the embeddings and head, and one block's gradient, all float32.
    EXPECT_EQ(line(plan, "gathered"), 4 * (2 * block + (counted - c.num_layers * block) + block)) << "dim " << c.dim;
  }
}


// Shapes the coefficients were not fitted on: other widths, FFN ratios, heads and token counts.
TEST(MemoryPlan, ActivationsAndGradientsMatchCountedBytes) {
  struct Case {
    int64_t dim, heads, ffn, layers, latent_h, latent_w;
  };
  for (const Case& k : {Case{96, 4, 256, 4, 24, 24}, Case{160, 8, 320, 3, 16, 32}, Case{48, 2, 192, 6, 32, 32}}) {
    const DiTConfig c = width(k.dim, k.heads, k.ffn, k.layers);
    const osp::test::Inputs in = osp::test::random_inputs(c, 1, 2, k.latent_h, k.latent_w, 5, 7);
    WanDiT model(c, osp::test::kFp32);
    osp::test::randomize(model, 8);
    for (const bool checkpointed : {false, true}) {
      TrainShape shape;
      shape.model = c;
      shape.width = k.latent_w * 8;
      shape.height = k.latent_h * 8;
      shape.frames = 5;  // 2 latent frames
      shape.checkpointing = checkpointed;
      shape.precision = osp::test::kFp32;
      const MemoryPlan plan = osp::train::plan_training_memory(shape);
      const int64_t predicted = plan.total() - line(plan, "trained") - line(plan, "AdamW") - line(plan, "EMA");
      const int64_t counted = osp::test::peak_training_bytes(model, in, checkpointed);
      const double error = static_cast<double>(predicted - counted) / static_cast<double>(counted);
      std::printf("[ plan     ] dim %lld, ffn %lld, %lld heads, %lld blocks, %lld tokens%s: predicted %.2f MiB, counted "
                  "%.2f MiB (%+.1f%%)\n",
                  static_cast<long long>(k.dim), static_cast<long long>(k.ffn), static_cast<long long>(k.heads),
                  static_cast<long long>(k.layers), static_cast<long long>(plan.tokens),
                  checkpointed ? ", checkpointed" : "", predicted / 1048576.0, counted / 1048576.0, 100 * error);
      // Checkpointed runs free the recomputed block as its backward goes: more room above. The
      // coefficients were fitted on LibTorch 1.13's math attention; LibTorch 2.x's fused attention
      // also keeps fewer of its other intermediates (up to 23 % below the plan at 8 heads).
      EXPECT_LT(error, checkpointed ? 0.35 : (shape.attention_keeps_probabilities ? 0.15 : 0.25));
      EXPECT_GT(error, -0.15);
    }
  }
}

// The whole plan of a replicated fp32 run against the peak RSS a real trainer adds over 3 steps.
TEST(MemoryPlan, TotalTracksThePeakRssOfARealRun) {
  if (!osp::reset_peak_rss()) GTEST_SKIP() << "this kernel cannot reset the peak RSS";
  const osp::test::ScratchDir dir;
  const std::string yaml =
      "model:\n  fields: {dim: 256, ffn_dim: 1024, num_heads: 4, num_layers: 4, freq_dim: 64, text_dim: 32, text_len: 16,\n"
      "           in_dim: 4, out_dim: 4}\n  init_seed: 1\n"
      "data:\n  synthetic: {samples: 4, frames: 2, height: 32, width: 32, text_tokens: 5, seed: 2}\n"
      "steps: 3\nbatch_size: 1\nprecision: fp32\noutput_dir: " + (dir.path() / "out").string() + "\n";
  const osp::train::TrainConfig config = osp::train::TrainConfig::from_yaml(yaml);
  const int64_t before = static_cast<int64_t>(osp::current_rss_bytes());
  osp::reset_peak_rss();
  {
    osp::train::Trainer trainer(config, osp::train::make_objective(config));
    for (int s = 0; s < 3; ++s) trainer.step();
  }
  const int64_t measured = static_cast<int64_t>(osp::peak_rss_bytes()) - before;
  TrainShape shape;
  shape.model = config.model;
  shape.width = shape.height = 256;
  shape.frames = 5;
  shape.precision = osp::test::kFp32;
  const MemoryPlan plan = osp::train::plan_training_memory(shape);
  const double error = static_cast<double>(plan.total() - measured) / static_cast<double>(measured);
  std::printf("[ plan     ] replicated fp32 run, %.1f M parameters, %lld tokens: planned %.1f MiB, peak RSS added %.1f "
              "MiB (%+.1f%%)\n",
              plan.parameters / 1e6, static_cast<long long>(plan.tokens), plan.total() / 1048576.0, measured / 1048576.0,
              100 * error);
  EXPECT_LT(std::abs(error), 0.3);
}

TEST(MemoryPlan, ThePublished14BMeshFitsAnH200) {
  TrainShape shape;
  shape.model = DiTConfig::preset("osp-next-14b");
  shape.width = 1280;
  shape.height = 720;
  shape.frames = 81;
  shape.ranks = 8;
  shape.ssp = 4;
  shape.shard_full = true;
  shape.checkpointing = true;
  shape.attention_keeps_probabilities = false;
  const MemoryPlan plan = osp::train::plan_training_memory(shape);
  EXPECT_EQ(plan.tokens, 21 * 45 * 80);
  EXPECT_EQ(plan.padded_tokens, 80640);
  EXPECT_EQ(plan.dp, 2);
  const double GiB = 1024.0 * 1024 * 1024;
  EXPECT_LT(plan.total(), 141 * GiB);
  // Replicated, the optimizer state alone (16 bytes per parameter) does not fit.
  shape.shard_full = false;
  EXPECT_GT(osp::train::plan_training_memory(shape).total(), 16 * plan.parameters);
  EXPECT_GT(osp::train::plan_training_memory(shape).total(), 141 * GiB);
}

TEST(MemoryPlan, BadInputIsNamed) {
  using osp::test::expect_error;
  TrainShape shape;
  shape.model = DiTConfig::preset("osp-next-1.3b");
  auto with = [&](auto change) {
    TrainShape s = shape;
    change(s);
    return [s] { osp::train::plan_training_memory(s); };
  };
  expect_error(with([](TrainShape& s) { s.width = 830; }), {"-W", "830"});
  expect_error(with([](TrainShape& s) { s.frames = 80; }), {"--frames", "4k+1"});
  expect_error(with([](TrainShape& s) { s.ranks = 6, s.ssp = 4; }), {"--ranks", "not divisible"});
  expect_error(with([](TrainShape& s) { s.ranks = 3, s.ssp = 3; }), {"--ssp", "P²"});
  expect_error(with([](TrainShape& s) { s.lora_rank = -1; }), {"--lora"});
  EXPECT_EQ(osp::parse_memory_size("80G", "--device-memory"), int64_t{80} << 30);
  EXPECT_EQ(osp::parse_memory_size("1.5GiB", "--device-memory"), int64_t{3} << 29);
  EXPECT_EQ(osp::parse_memory_size("512m", "--device-memory"), int64_t{512} << 20);
  expect_error([] { osp::parse_memory_size("lots", "--device-memory"); }, {"--device-memory", "lots"});
  expect_error([] { osp::parse_memory_size("8Q", "--device-memory"); }, {"unknown unit"});
  expect_error([] { osp::parse_memory_size("-3G", "--device-memory"); }, {"positive"});
}

TEST(MemoryPlanCli, PrintsThePlanAndRejectsBadInput) {
  const auto r = osp::test::run_osp("plan train --model 14b -W 1280 -H 720 --frames 81 --ranks 8 --ssp 4 --shard full "
                                    "--checkpointing --attention fused --device-memory 141G");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* part : {"OSP-Next 14B", "80640 padded", "dp 2 × skiparse_sp 4", "AdamW moments", "gathered weights",
                           "fits in 141.0 GiB per rank: yes"}) {
    EXPECT_NE(r.output.find(part), std::string::npos) << part << " in\n" << r.output;
  }
  osp::test::expect_cli_error("plan train --model 1.3b -W 830", "-W");
  osp::test::expect_cli_error("plan train --model 1.3b --shard half", "--shard");
  osp::test::expect_cli_error("plan train --model 3b", "--model");
  osp::test::expect_cli_error("plan train --model 1.3b --device-memory lots", "--device-memory");
}

}  // namespace
