// `osp rl` through the binary: a bad config ends with exit code 1 and `error: …` naming the file
// and field, before any model is loaded; two launched processes, fully sharded with SSP, train
// the adapter one process trains.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../scratch_dir.h"
#include "launch_ranks.h"
#include "run_osp.h"
#include "osp/pipeline/tiny_bundle.h"
#include "osp/train/train_checkpoint.h"

namespace {

namespace fs = std::filesystem;

using osp::test::expect_cli_error;

TEST(RlCli, BadConfigsFailNamingTheField) {
  const osp::test::ScratchDir dir;
  std::ofstream(dir / "prompts.txt") << "a red circle moving left on a black background\n";
  const auto write = [&](const std::string& name, const std::string& extra) {
    std::ofstream(dir / name) << "model: no_such_bundle\nprompts: prompts.txt\n"
                                 "rewards: [{type: shapes}]\noutput_dir: out\n" << extra;
    return dir / name;
  };
  expect_cli_error("rl --config " + write("group.yaml", "group_size: 1\n"), "group_size");
  expect_cli_error("rl --config " + write("sde.yaml", "sampling: {steps: 4, sde_steps: 6}\n"), "sde_steps");
  expect_cli_error("rl --config " + write("field.yaml", "epochz: 3\n"), "epochz");
  expect_cli_error("rl --config " + (dir / "missing.yaml"), "missing.yaml");
  expect_cli_error("rl --config " + write("batch.yaml", ""), "sample_batch_size");  // 2 videos cannot hold a group of 4
  expect_cli_error("rl --config " + write("bundle.yaml", "sample_batch_size: 4\n"), "no_such_bundle");
  expect_cli_error("rl --config " + write("shard.yaml", "parallel: {shard: half}\n"), "parallel.shard");
}

}  // namespace

namespace {

// The newest checkpoint folder of an RL output directory.
fs::path newest_checkpoint(const fs::path& out) {
  fs::path newest;
  for (const auto& entry : fs::directory_iterator(out / "checkpoints")) {
    if (newest.empty() || entry.path().filename() > newest.filename()) newest = entry.path();
  }
  return newest;
}

TEST(RlCli, TwoLaunchedProcessesShardedWithSspEqualOne) {
  const osp::test::ScratchDir dir;
  osp::pipeline::write_tiny_bundle(dir / "bundle", {});
  std::ofstream(dir / "prompts.txt") << "a red circle moving left on a black background\n";
  const auto write = [&](const std::string& name, const std::string& extra) {
    // The example scorer of scripts/: mean brightness, which a LoRA moves at once.
    std::ofstream(dir / name) << "model: bundle\nprompts: prompts.txt\n"
                                 "rewards: [{type: command, command: \"/usr/bin/python3 "
                              << OSP_SOURCE_DIR << "/scripts/reward_brightness.py\"}]\n"
                                 "video: {width: 32, height: 32, frames: 5}\n"
                                 "sampling: {steps: 4, sde_steps: 2, guidance: 2.0}\n"
                                 "group_size: 4\nsample_batch_size: 4\ntrain_batch_size: 4\nbatches_per_epoch: 1\n"
                                 "epochs: 1\nlora: {rank: 4, alpha: 8}\noptimizer: {lr: 0.01}\nprecision: fp32\n"
                              << extra;
    return dir / name;
  };
  const osp::test::RunResult single = osp::test::run_osp("rl --config " + write("one.yaml", "output_dir: one\n"));
  ASSERT_EQ(single.exit_code, 0) << single.output;
  const std::string two = write("two.yaml", "output_dir: two\nparallel: {shard: full, ssp: 2}\n");
  const auto ranks = osp::test::launch_ranks(dir.path(), 2, [&](int) { return "rl --config " + two; });
  ASSERT_EQ(ranks.size(), 2u);
  for (size_t r = 0; r < ranks.size(); ++r) ASSERT_EQ(ranks[r].exit_code, 0) << "rank " << r << ": " << ranks[r].output;
  const auto expected = osp::train::load_checkpoint(newest_checkpoint(dir.path() / "one").string());
  const auto got = osp::train::load_checkpoint(newest_checkpoint(dir.path() / "two").string());
  ASSERT_EQ(got.model.size(), expected.model.size());
  for (size_t i = 0; i < got.model.size(); ++i) {
    EXPECT_EQ(got.model[i].first, expected.model[i].first);
    EXPECT_LT((got.model[i].second - expected.model[i].second).abs().max().item<double>(), 1e-4) << got.model[i].first;
  }
  // The same rewards: the CSV rows agree up to the timing columns.
  const auto reward_of = [](const fs::path& csv) {
    std::ifstream in(csv);
    std::string header, row;
    std::getline(in, header);
    std::getline(in, row);
    return row.substr(0, row.find(',', row.find(',', row.find(',') + 1) + 1));
  };
  EXPECT_EQ(reward_of(dir.path() / "two" / "rl_log.csv"), reward_of(dir.path() / "one" / "rl_log.csv"));
}

}  // namespace
