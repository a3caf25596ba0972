// `osp rl` through the binary: a bad config ends with exit code 1 and `error: …` naming the file
// and field, before any model is loaded.
#include <gtest/gtest.h>

#include <fstream>

#include "../scratch_dir.h"
#include "run_osp.h"

namespace {

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
}

}  // namespace
