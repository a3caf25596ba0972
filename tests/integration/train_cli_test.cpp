// osp train on the command line: a bad config fails before training (exit 1, the field named), a
// short synthetic run writes checkpoints and logs, and --resume continues it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "run_osp.h"
#include "../scratch_dir.h"

namespace {

namespace fs = std::filesystem;

std::string write_config(const osp::test::ScratchDir& dir, const std::string& name, const std::string& run) {
  const std::string path = dir / name;
  std::ofstream(path) << "model:\n"
                         "  fields: {dim: 32, ffn_dim: 48, num_heads: 2, num_layers: 2, freq_dim: 32, text_dim: 24,\n"
                         "           text_len: 8, in_dim: 4, out_dim: 4}\n"
                         "data:\n"
                         "  synthetic: {samples: 4, frames: 1, height: 4, width: 4, text_tokens: 3}\n"
                         "optimizer: {lr: 1.0e-3, warmup_steps: 1}\n"
                         "batch_size: 2\nprecision: fp32\ncheckpoint_every: 2\noutput_dir: out\n"
                      << run;
  return path;
}

TEST(TrainCli, BadConfigFailsBeforeTraining) {
  const osp::test::ScratchDir dir;
  const std::string bad = write_config(dir, "bad.yaml", "steps: 3\nwarmpu_steps: 2\n");
  osp::test::expect_cli_error("train --config " + bad, "warmpu_steps");
  const std::string zero = write_config(dir, "zero.yaml", "steps: 0\n");
  osp::test::expect_cli_error("train --config " + zero, "steps");
  EXPECT_FALSE(fs::exists(dir.path() / "out"));  // nothing was started
  osp::test::expect_cli_error("train --config " + (dir / "missing.yaml"), "missing.yaml");
}

TEST(TrainCli, RunsAndResumes) {
  const osp::test::ScratchDir dir;
  const osp::test::RunResult first = osp::test::run_osp("train --config " + write_config(dir, "a.yaml", "steps: 2\n"), "info");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_NE(first.output.find("step 2/2"), std::string::npos) << first.output;
  EXPECT_TRUE(fs::exists(dir.path() / "out" / "checkpoints" / "step-00000002" / "model.safetensors"));
  EXPECT_TRUE(fs::exists(dir.path() / "out" / "loss_curve.svg"));
  const osp::test::RunResult second = osp::test::run_osp(
      "train --config " + write_config(dir, "b.yaml", "steps: 4\n") + " --resume " + (dir / "out"), "info");
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("resumed at step 2"), std::string::npos) << second.output;
  EXPECT_TRUE(fs::exists(dir.path() / "out" / "checkpoints" / "step-00000004" / "ema.safetensors"));
}

}  // namespace
