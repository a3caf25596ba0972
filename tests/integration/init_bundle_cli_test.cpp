// `osp init-bundle` end to end: writes a bundle that resolves and names its files and sizes;
// refuses a non-empty directory without --force.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../scratch_dir.h"
#include "osp/pipeline/bundle.h"
#include "run_osp.h"

namespace {

namespace fs = std::filesystem;
using osp::test::run_osp;

TEST(InitBundleCli, WritesABundleAndRefusesANonEmptyDirectoryWithoutForce) {
  const osp::test::ScratchDir scratch;
  const std::string dir = scratch / "tiny";
  const auto r = run_osp("init-bundle --out " + dir + " --seed 5", "info");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* part : {"dit/diffusion_pytorch_model.safetensors", "tokenizer/spiece.model", "config.json", "KiB",
                           "seed 5"}) {
    EXPECT_NE(r.output.find(part), std::string::npos) << part << " in:\n" << r.output;
  }
  EXPECT_EQ(osp::pipeline::resolve_bundle(dir).layout, "osp bundle");

  osp::test::expect_cli_error("init-bundle --out " + dir, dir);
  osp::test::expect_cli_error("init-bundle --out " + dir, "--force");
  const auto forced = run_osp("init-bundle --out " + dir + " --force");
  EXPECT_EQ(forced.exit_code, 0) << forced.output;

  const std::string file = scratch / "file";
  std::ofstream(file) << "x";
  osp::test::expect_cli_error("init-bundle --out " + file, "not a directory");
}

}  // namespace
