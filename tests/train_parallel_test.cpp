// Parallel training (src/osp/parallel training strategies): activation checkpointing against the
// run without it (gradients, and the bytes of activations it keeps), replicated data parallel
// and fully sharded data parallel on 2 and 4 Gloo ranks (threads of this process) against one
// process with the global batch (weights and loss of a step, the loss curve of 20 steps, LoRA),
// bf16 gathers against a replicated bf16 run, the bytes per step, sharded checkpoints resumed on
// the same and on fewer ranks, a failing rank, and the config keys.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>

#include "expect_error.h"
#include "micro_train.h"
#include "file_bytes.h"
#include "parallel_runs.h"
#include "integration/run_osp.h"
#include "osp/io/safetensors_writer.h"
#include "osp/io/tensor_source.h"
#include "reference_dit.h"
#include "run_ranks.h"
#include "scratch_dir.h"
#include "test_util.h"
#include "training_bytes.h"
#include "osp/models/dit/model.h"
#include "osp/parallel/checkpointed_blocks.h"
#include "osp/parallel/fully_sharded.h"
#include "osp/train/sample_source.h"

namespace {

namespace fs = std::filesystem;
using osp::dit::DiTConfig;
using osp::dit::WanDiT;
using osp::parallel::NamedTensors;
using osp::test::make_trainer;
using osp::test::micro_config;
using osp::test::global_error;
using osp::test::kParityOptimizer;
using osp::test::rel_error;
using osp::test::RankRun;
using osp::test::run_section;
using osp::test::total;
using osp::test::worst_error;
using osp::train::StepStats;
using osp::train::Trainer;
using osp::train::TrainConfig;

constexpr std::chrono::milliseconds kTimeout(60000);

// ---------------------------------------------------------------------------------------------
// Activation checkpointing


// Gradients of Σ v·R w.r.t. every parameter and x, with the blocks run directly or checkpointed.
std::map<std::string, at::Tensor> gradients(WanDiT& model, const osp::test::Inputs& in, bool checkpointed,
                                            int64_t* recomputed = nullptr) {
  const NamedTensors params = osp::test::trainable_parameters(model);
  osp::parallel::LocalBlockWeights weights(params, static_cast<int64_t>(model.blocks.size()));
  osp::parallel::CheckpointedBlocks runner(weights);
  if (checkpointed) model.set_block_runner(&runner);
  const at::Tensor x = in.x.clone().requires_grad_(true);
  const at::Tensor v = model.forward(x, in.t, in.context);
  at::Generator g = at::detail::createCPUGenerator(5);
  (v * osp::test::randn(v.sizes(), g)).sum().backward();
  model.set_block_runner(nullptr);
  if (recomputed) *recomputed = runner.recomputed();
  std::map<std::string, at::Tensor> out{{"x", x.grad()}};
  for (const auto& [name, p] : params) {
    out[name] = p.grad().clone();
    p.mutable_grad() = at::Tensor();
  }
  return out;
}

TEST(ActivationCheckpointing, ChangesNoGradient) {
  for (const bool sparse : {false, true}) {
    const DiTConfig c = sparse ? osp::test::all_sparse(osp::test::tiny_config(32, 2)) : osp::test::tiny_config(32, 2);
    const osp::test::Inputs in = osp::test::random_inputs(c, 2, 2, 6, 10, 5, 31);
    WanDiT model(c, osp::test::kFp32);
    osp::test::randomize(model, 30);
    const auto plain = gradients(model, in, false);
    int64_t recomputed = 0;
    const auto checkpointed = gradients(model, in, true, &recomputed);
    EXPECT_EQ(recomputed, c.num_layers);  // every block ran again in backward
    double worst = 0;
    for (const auto& [name, g] : plain) {
      ASSERT_TRUE(checkpointed.at(name).defined()) << name;
      worst = std::max(worst, rel_error(checkpointed.at(name), g));
    }
    std::printf("[ ckpt     ] %s: worst gradient relative error with checkpointing %.3g (%zu tensors)\n",
                sparse ? "skiparse" : "full", worst, plain.size());
    EXPECT_LE(worst, 1e-6);
  }
}


TEST(ActivationCheckpointing, KeepsFewerActivationBytes) {
  // 8 blocks of dim 128 on 512 tokens: activations dominate the weights (2 MB).
  DiTConfig c = osp::test::tiny_config(128, 4);
  c.num_layers = 8;
  c.ffn_dim = 256;
  c.validate();
  const osp::test::Inputs in = osp::test::random_inputs(c, 2, 2, 32, 32, 5, 41);
  WanDiT model(c, osp::test::kFp32);
  osp::test::randomize(model, 40);
  const int64_t plain = osp::test::peak_training_bytes(model, in, false);
  const int64_t checkpointed = osp::test::peak_training_bytes(model, in, true);
  const double mib = 1.0 / (1 << 20);
  std::printf("[ ckpt     ] 8 blocks dim 128, 2 x 512 tokens: peak tensor bytes of forward+backward %.1f MiB "
              "without, %.1f MiB with activation checkpointing (%.2fx)\n",
              plain * mib, checkpointed * mib, static_cast<double>(plain) / checkpointed);
  EXPECT_LT(checkpointed * 2, plain);
}

// ---------------------------------------------------------------------------------------------
// Config

TEST(TrainParallelConfig, KeysAreReadAndCheckedByName) {
  using osp::test::expect_error;
  const auto parse = [](const std::string& extra) { return TrainConfig::from_yaml(micro_config("o", extra), "run.yaml"); };
  const TrainConfig plain = parse("");
  EXPECT_EQ(plain.shard, osp::train::Sharding::kNone);
  EXPECT_FALSE(plain.activation_checkpointing);
  const TrainConfig full = parse("parallel: {shard: full}\n");
  EXPECT_EQ(full.shard, osp::train::Sharding::kFull);
  EXPECT_TRUE(full.activation_checkpointing);  // full sharding recomputes blocks
  const TrainConfig buckets = parse("parallel: {shard: none, bucket_mb: 0.5}\nactivation_checkpointing: true\n");
  EXPECT_EQ(buckets.bucket_bytes, 1 << 19);
  EXPECT_TRUE(buckets.activation_checkpointing);
  expect_error([&] { parse("parallel: {shard: half}\n"); }, {"run.yaml", "parallel.shard", "half"});
  expect_error([&] { parse("parallel: {bucket_mb: 0}\n"); }, {"parallel.bucket_mb", "0"});
  expect_error([&] { parse("parallel: {shards: full}\n"); }, {"parallel.shards", "unknown field"});
  expect_error([&] { parse("parallel: {shard: full}\nactivation_checkpointing: false\n"); },
               {"activation_checkpointing", "shard: full"});
  expect_error([&] { parse("activation_checkpointing: maybe\n"); }, {"activation_checkpointing", "boolean"});
}

// ---------------------------------------------------------------------------------------------
// Data parallel steps against one process with the global batch

// `steps` steps of the micro run on `ranks` ranks with per-rank batch `batch`.
std::vector<RankRun> run_parallel(int ranks, int64_t steps, int64_t batch, const std::string& extra,
                                  const fs::path& out) {
  return osp::test::train_on_ranks(ranks, steps,
                                   micro_config(out.string(), extra, run_section(steps, batch), kParityOptimizer), kTimeout);
}

RankRun run_single(int64_t steps, int64_t batch, const std::string& extra, const fs::path& out) {
  return osp::test::train_in_one_process(steps, micro_config(out.string(), extra, run_section(steps, batch), kParityOptimizer));
}

struct ParityCase {
  const char* name;
  int ranks;
  std::string strategy;  // config lines of the parallel run only
  std::string model;     // config lines of both runs (LoRA)
};

class DataParallelStep : public ::testing::TestWithParam<ParityCase> {};

TEST_P(DataParallelStep, EqualsOneProcessWithTheGlobalBatch) {
  const ParityCase& pc = GetParam();
  const osp::test::ScratchDir dir;
  const int64_t global = 4, batch = global / pc.ranks;
  const RankRun single = run_single(1, global, pc.model, dir.path() / "one");
  const auto runs = run_parallel(pc.ranks, 1, batch, pc.strategy + pc.model, dir.path() / "many");
  osp::test::expect_ranks_agree(runs);
  const double loss = std::abs(runs[0].stats[0].loss - single.stats[0].loss) / single.stats[0].loss;
  const double norm = std::abs(runs[0].stats[0].grad_norm - single.stats[0].grad_norm) / single.stats[0].grad_norm;
  const double weights = global_error(runs[0].weights, single.weights);
  const double worst = worst_error(runs[0].weights, single.weights);
  const double ema = global_error(runs[0].ema, single.ema);
  std::printf("[ parallel ] %s, %d ranks x batch %lld vs 1 x %lld: loss %.3g, grad norm %.3g, weights %.3g "
              "(worst tensor %.3g), EMA %.3g relative\n",
              pc.name, pc.ranks, static_cast<long long>(batch), static_cast<long long>(global), loss, norm, weights,
              worst, ema);
  EXPECT_LE(loss, 1e-6);
  EXPECT_LE(norm, 1e-6);
  EXPECT_LE(weights, 1e-6);
  EXPECT_LE(ema, 1e-6);
  // Per tensor as well, except a fresh LoRA: its B matrices start at 0, and the gradient of block
  // 0's cross-attention q adapter is then a cancellation near rounding level, whose relative error
  // (1.5e-4, the same for replicated and sharded runs) Adam passes on to that tensor's first step.
  EXPECT_LE(worst, pc.model.empty() ? 1e-6 : 1e-3);
}

INSTANTIATE_TEST_SUITE_P(
    Strategies, DataParallelStep,
    ::testing::Values(ParityCase{"replicated_2", 2, "parallel: {shard: none, bucket_mb: 0.01}\n", ""},
                      ParityCase{"replicated_checkpointed_2", 2, "activation_checkpointing: true\n", ""},
                      ParityCase{"full_2", 2, "parallel: {shard: full}\n", ""},
                      ParityCase{"full_4", 4, "parallel: {shard: full}\n", ""},
                      ParityCase{"replicated_lora_2", 2, "", "lora: {rank: 4, alpha: 8}\n"},
                      ParityCase{"full_lora_2", 2, "parallel: {shard: full}\n", "lora: {rank: 4, alpha: 8}\n"}),
    [](const auto& info) { return std::string(info.param.name); });

// From a checkpoint file the sharded ranks stream each tensor into their shards (never the whole
// model) and take the same step as one process that loads the file whole.
TEST(FullySharded, AStepFromACheckpointFileEqualsOneProcess) {
  const osp::test::ScratchDir dir;
  const fs::path weights = dir.path() / "base.safetensors";
  {
    const TrainConfig c = TrainConfig::from_yaml(micro_config((dir.path() / "x").string()));
    WanDiT model(c.model, osp::test::kFp32);
    osp::test::randomize(model, 77);
    NamedTensors tensors;
    for (const auto& item : model.named_parameters()) tensors.emplace_back(item.key(), item.value());
    osp::io::write_safetensors(weights.string(), tensors);
  }
  const auto yaml = [&](const fs::path& out, const std::string& extra, int64_t batch) {
    std::string text = micro_config(out.string(), extra, run_section(1, batch), kParityOptimizer);
    return text.replace(text.find("  init_seed: 3\n"), 14, "  weights: " + weights.string() + "\n");
  };
  const RankRun single = osp::test::train_in_one_process(1, yaml(dir.path() / "one", "", 4));
  const auto runs = osp::test::train_on_ranks(2, 1, yaml(dir.path() / "two", "parallel: {shard: full}\n", 2), kTimeout);
  osp::test::expect_ranks_agree(runs);
  const double loss = std::abs(runs[0].stats[0].loss - single.stats[0].loss) / single.stats[0].loss;
  const double weights_error = global_error(runs[0].weights, single.weights);
  std::printf("[ parallel ] from a checkpoint file, 2 sharded ranks (streamed) vs one process: loss %.3g, weights %.3g\n",
              loss, weights_error);
  EXPECT_LE(loss, 1e-6);
  EXPECT_LE(weights_error, 1e-6);
}

TEST(FullySharded, TwentyStepsTrackOneProcess) {
  const osp::test::ScratchDir dir;
  const RankRun single = run_single(20, 4, "", dir.path() / "one");
  const auto runs = run_parallel(2, 20, 2, "parallel: {shard: full}\n", dir.path() / "two");
  double worst = 0;
  for (size_t s = 0; s < 20; ++s) {
    worst = std::max(worst, std::abs(runs[0].stats[s].loss - single.stats[s].loss) / single.stats[s].loss);
  }
  std::printf("[ parallel ] 20 steps, 2 sharded ranks vs one process: loss %.4f -> %.4f, worst step loss "
              "difference %.3g relative, weights %.3g\n",
              single.stats.front().loss, single.stats.back().loss, worst, worst_error(runs[0].weights, single.weights));
  EXPECT_LE(worst, 1e-5);
  EXPECT_LT(single.stats.back().loss, single.stats.front().loss);
}

TEST(FullySharded, MovesAboutThreeTimesTheModelPerStep) {
  const osp::test::ScratchDir dir;
  // A model whose blocks dominate (the non-block unit is gathered once per step, blocks twice).
  std::string extra = "parallel: {shard: full}\n";
  for (const int ranks : {2, 4}) {
    std::vector<int64_t> model_bytes(ranks), off_rank(ranks);
    osp::test::run_ranks(
        ranks,
        [&](osp::parallel::World& world) {
          std::string yaml = micro_config((dir.path() / "out").string(), extra, run_section(2, 1), osp::test::kOptimizer);
          yaml.replace(yaml.find("num_layers: 2"), 13, "num_layers: 8");
          Trainer trainer = make_trainer(yaml, world.global());
          trainer.step();
          world.counters().reset();
          trainer.step();
          const auto& strategy = dynamic_cast<const osp::parallel::FullySharded&>(trainer.strategy());
          model_bytes[world.rank()] = strategy.model_bytes();
          off_rank[world.rank()] = total(world.counters()).bytes_off_rank;
        },
        kTimeout);
    const double ratio = static_cast<double>(off_rank[0]) / (model_bytes[0] * (ranks - 1.0) / ranks);
    std::printf("[ parallel ] full sharding, %d ranks: %.1f KiB off-rank per step and rank for a %.1f KiB model: "
                "%.2f x the model's (N-1)/N\n",
                ranks, off_rank[0] / 1024.0, model_bytes[0] / 1024.0, ratio);
    EXPECT_GT(ratio, 2.7);
    EXPECT_LT(ratio, 3.05);
  }
}

// Mixed precision: the weights a bf16 run's GEMMs round to bf16 are gathered in bf16 (half the
// bytes) and everything else in float32; the computation sees the same values as a replicated
// bf16 run. The replicated run checkpoints its blocks as well: without, the gradients of the
// time and text embeddings add up the blocks' contributions in another order, and the bf16
// roundings of the backward pass turn those last-bit differences into 1e-6 of the weights.
TEST(FullySharded, Bf16RunsGatherComputeWeightsInBf16) {
  const osp::test::ScratchDir dir;
  const auto bf16 = [](std::string run) { return run.replace(run.find("precision: fp32"), 15, "precision: bf16"); };
  std::vector<RankRun> replicated(2), sharded(2), sharded_fp32(2);
  const auto run = [&](const std::string& extra, bool reduced) {
    std::vector<RankRun> runs(2);
    osp::test::run_ranks(
        2,
        [&](osp::parallel::World& world) {
          RankRun& mine = runs[static_cast<size_t>(world.rank())];
          std::string section = run_section(1, 2);
          if (reduced) section = bf16(section);
          Trainer trainer = make_trainer(micro_config((dir.path() / "out").string(), extra, section, kParityOptimizer),
                                         world.global());
          for (int s = 0; s < 1; ++s) {
            world.counters().reset();
            mine.stats.push_back(trainer.step());
          }
          mine.traffic = total(world.counters());
          mine.weights = trainer.weights();
        },
        kTimeout);
    return runs;
  };
  replicated = run("activation_checkpointing: true\n", true);
  sharded = run("parallel: {shard: full}\n", true);
  sharded_fp32 = run("parallel: {shard: full}\n", false);
  double loss = 0;
  loss = std::abs(sharded[0].stats[0].loss - replicated[0].stats[0].loss) / replicated[0].stats[0].loss;
  const double weights = global_error(sharded[0].weights, replicated[0].weights);
  const double bytes = static_cast<double>(sharded[0].traffic.bytes_off_rank) / sharded_fp32[0].traffic.bytes_off_rank;
  std::printf("[ parallel ] bf16, 2 sharded ranks vs 2 replicated: loss %.3g, weights %.3g relative; %.1f KiB "
              "off-rank per step, %.2f x the float32 gathers'\n",
              loss, weights, sharded[0].traffic.bytes_off_rank / 1024.0, bytes);
  EXPECT_LE(loss, 1e-6);
  EXPECT_LE(weights, 1e-6);
  EXPECT_LT(bytes, 0.8);
}

// `steps` steps of a fully sharded run on `ranks` ranks (global batch 4) into `out`, resumed from
// `resume` when given; every rank's stats and rank 0's final weights.
std::pair<std::vector<StepStats>, NamedTensors> sharded_run(int ranks, int64_t steps, const fs::path& out,
                                                             const std::string& resume = "") {
  std::vector<StepStats> stats;
  NamedTensors weights;
  std::mutex mutex;
  osp::test::run_ranks(
      ranks,
      [&](osp::parallel::World& world) {
        Trainer trainer = make_trainer(micro_config(out.string(), "parallel: {shard: full}\ncheckpoint_every: 2\n",
                                                    run_section(steps, 4 / ranks), kParityOptimizer),
                                       world.global());
        if (!resume.empty()) trainer.resume(resume);
        auto mine = trainer.run();
        auto w = trainer.weights();
        if (world.rank() == 0) {
          std::lock_guard<std::mutex> lock(mutex);
          stats = std::move(mine);
          weights = std::move(w);
        }
      },
      kTimeout);
  return {stats, weights};
}

TEST(FullySharded, ShardedCheckpointsResumeExactlyAndOnFewerRanks) {
  const osp::test::ScratchDir dir;
  const auto [whole, whole_weights] = sharded_run(4, 4, dir.path() / "a");
  ASSERT_EQ(whole.size(), 4u);
  const fs::path checkpoint = dir.path() / "a" / "checkpoints" / "step-00000002";
  // Each rank wrote its own shards; no whole tensor files.
  EXPECT_TRUE(fs::exists(checkpoint / "index.json"));
  for (int r = 0; r < 4; ++r) {
    EXPECT_TRUE(fs::exists(checkpoint / "shards" / ("rank-0000" + std::to_string(r) + "-of-00004.safetensors")));
  }
  EXPECT_FALSE(fs::exists(checkpoint / "model.safetensors"));
  for (const auto& entry : fs::directory_iterator(dir.path() / "a" / "checkpoints")) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
  }
  // The same world size continues bit for bit.
  const auto [same, same_weights] = sharded_run(4, 4, dir.path() / "b", checkpoint.string());
  ASSERT_EQ(same.size(), 2u);
  for (size_t i = 0; i < 2; ++i) EXPECT_EQ(same[i].loss, whole[2 + i].loss) << "step " << same[i].step;
  for (size_t i = 0; i < whole_weights.size(); ++i) {
    EXPECT_TRUE(at::equal(same_weights[i].second, whole_weights[i].second)) << whole_weights[i].first;
  }
  // 2 ranks reshard the 4-rank checkpoint and continue the same training (the same samples and
  // draws; only summation orders differ).
  const auto [fewer, fewer_weights] = sharded_run(2, 4, dir.path() / "c", checkpoint.string());
  ASSERT_EQ(fewer.size(), 2u);
  double worst = 0;
  for (size_t i = 0; i < 2; ++i) worst = std::max(worst, std::abs(fewer[i].loss - whole[2 + i].loss) / whole[2 + i].loss);
  const double weights = global_error(fewer_weights, whole_weights);
  std::printf("[ parallel ] 4-rank sharded checkpoint resumed on 2 ranks: loss %.3g, weights %.3g relative to the "
              "4-rank run\n",
              worst, weights);
  EXPECT_LE(worst, 1e-6);
  EXPECT_LE(weights, 1e-6);
}

// Resharding reads ranges, not whole tensors: every new rank's part of a 4-rank checkpoint, for 2
// and for 3 ranks (a chunk that does not divide the flat group: the last rank is padded), equals
// the matching range of the whole tensors laid end to end; another set of units is declined.
TEST(FullySharded, ReshardingReadsEachNewRanksRangesFromTheOldFiles) {
  const auto find_tensor = [](const NamedTensors& tensors, const std::string& name) {
    for (const auto& item : tensors) {
      if (item.first == name) return item.second;
    }
    ADD_FAILURE() << "no tensor " << name;
    return at::Tensor();
  };
  const osp::test::ScratchDir dir;
  sharded_run(4, 4, dir.path() / "a");
  const std::string checkpoint = (dir.path() / "a" / "checkpoints" / "step-00000002").string();
  const osp::train::ShardIndex index = *osp::train::read_shard_index(checkpoint);
  const osp::train::TrainCheckpoint whole = osp::train::load_checkpoint(checkpoint);
  const std::map<std::string, const NamedTensors*> kinds{
      {"", &whole.model}, {".ema", &whole.ema}, {".exp_avg", &whole.optimizer}, {".exp_avg_sq", &whole.optimizer}};
  for (const int ranks : {2, 3}) {
    std::vector<osp::parallel::ShardLayout> layout = index.layout;
    for (auto& shard : layout) {
      int64_t total = 0;
      for (const auto& item : shard.tensors) total += c10::multiply_integers(item.second);
      shard.chunk = (total + ranks - 1) / ranks;
    }
    std::vector<NamedTensors> parts;
    for (int r = 0; r < ranks; ++r) parts.push_back(*osp::train::read_rank_ranges(index, layout, r));
    for (size_t i = 0; i < layout.size(); ++i) {
      for (const auto& [suffix, tensors] : kinds) {
        std::vector<at::Tensor> expected;
        for (const auto& [name, shape] : layout[i].tensors) {
          const std::string key = suffix == ".exp_avg" || suffix == ".exp_avg_sq" ? name + suffix : name;
          expected.push_back(find_tensor(*tensors, key).reshape(-1));
        }
        const at::Tensor flat = at::cat(expected);
        std::vector<at::Tensor> got;
        for (const NamedTensors& p : parts) got.push_back(find_tensor(p, layout[i].shard + suffix));
        const at::Tensor joined = at::cat(got);
        ASSERT_EQ(joined.numel(), layout[i].chunk * ranks);
        EXPECT_TRUE(at::equal(joined.narrow(0, 0, flat.numel()), flat)) << ranks << " ranks " << layout[i].shard << suffix;
        EXPECT_EQ(joined.narrow(0, flat.numel(), joined.numel() - flat.numel()).abs().sum().item<double>(), 0.0);
      }
    }
  }
  std::vector<osp::parallel::ShardLayout> other = index.layout;
  other.front().tensors.pop_back();
  EXPECT_FALSE(osp::train::read_rank_ranges(index, other, 0).has_value());
}

// `osp convert` consolidates a sharded checkpoint into one safetensors file of the whole weights
// (or EMA weights) that a one-process trainer resuming the checkpoint holds; broken indexes are errors.
TEST(FullySharded, ConvertConsolidatesAShardedCheckpoint) {
  const osp::test::ScratchDir dir;
  sharded_run(2, 2, dir.path() / "run");
  const fs::path checkpoint = dir.path() / "run" / "checkpoints" / "step-00000002";
  const TrainConfig c = TrainConfig::from_yaml(micro_config((dir.path() / "one").string(), "", run_section(2, 4)));
  Trainer whole(c, osp::train::open_samples(c));
  whole.resume(checkpoint.string());
  for (const bool ema : {false, true}) {
    const fs::path out = dir.path() / (ema ? "ema.safetensors" : "model.safetensors");
    const auto r = osp::test::run_osp("convert " + checkpoint.string() + " " + out.string() + (ema ? " --ema" : ""));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto file = osp::io::open_tensor_source(out.string());
    const NamedTensors expected = ema ? osp::test::whole_ema(whole) : whole.weights();
    ASSERT_EQ(file->names().size(), expected.size());
    for (const auto& [name, t] : expected) EXPECT_TRUE(at::equal(file->load(name), t)) << name;
  }
  // A bf16 copy for `osp generate --dit`.
  const auto bf16 = osp::test::run_osp("convert " + checkpoint.string() + " " + (dir.path() / "bf16.safetensors").string() +
                                       " --dtype bf16");
  ASSERT_EQ(bf16.exit_code, 0) << bf16.output;
  EXPECT_EQ(osp::io::open_tensor_source((dir.path() / "bf16.safetensors").string())->meta("head.head.weight").dtype,
            osp::io::DType::kBF16);
  osp::test::expect_cli_error("convert " + (dir.path() / "bf16.safetensors").string() + " " +
                                  (dir.path() / "x.safetensors").string() + " --ema",
                              "not a checkpoint folder");
  // An index that lists more values than the shards hold.
  std::string index = osp::test::read_bytes((checkpoint / "index.json").string());
  const auto chunk = index.find("\"chunk\":");
  ASSERT_NE(chunk, std::string::npos);
  index.insert(index.find_first_of("0123456789", chunk), "9");
  osp::test::write_bytes((checkpoint / "index.json").string(), index);
  osp::test::expect_cli_error("convert " + checkpoint.string() + " " + (dir.path() / "y.safetensors").string(),
                              "index says");
}

// The synthetic samples, except that one rank's source throws on its second micro-batch.
class FailingSource : public osp::train::SampleSource {
 public:
  FailingSource(std::unique_ptr<SampleSource> inner, bool fails) : inner_(std::move(inner)), fails_(fails) {}
  int64_t size() const override { return inner_->size(); }
  osp::train::TrainSample get(int64_t index) override {
    if (fails_ && ++calls_ > 2) throw std::runtime_error("bad sample on this rank");
    return inner_->get(index);
  }
  at::Tensor null_context() const override { return inner_->null_context(); }
  std::string describe() const override { return inner_->describe(); }

 private:
  std::unique_ptr<SampleSource> inner_;
  bool fails_;
  int64_t calls_ = 0;
};

TEST(FullySharded, ARankThatThrowsEndsEveryRankWithAnError) {
  const osp::test::ScratchDir dir;
  std::vector<std::string> errors(2);
  const auto start = std::chrono::steady_clock::now();
  osp::test::run_ranks(
      2,
      [&](osp::parallel::World& world) {
        const TrainConfig c =
            TrainConfig::from_yaml(micro_config((dir.path() / "out").string(), "parallel: {shard: full}\n", run_section(3, 2)));
        try {
          Trainer trainer(c, std::make_unique<FailingSource>(osp::train::open_samples(c), world.rank() == 1),
                          world.global());
          for (int s = 0; s < 3; ++s) trainer.step();
        } catch (const std::exception& e) {
          errors[world.rank()] = e.what();
        }
      },
      std::chrono::milliseconds(5000));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ parallel ] rank 1 threw; rank 0 ended after %.1f s with: %s\n", seconds, errors[0].c_str());
  EXPECT_NE(errors[1].find("bad sample"), std::string::npos) << errors[1];
  EXPECT_NE(errors[0].find("failed"), std::string::npos) << errors[0];
  EXPECT_LT(seconds, 60.0);
}

}  // namespace
