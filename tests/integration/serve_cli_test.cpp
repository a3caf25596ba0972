// `osp serve` through the binary: bad flags and a model that cannot load end with exit code 1 and
// `error: …` naming the flag or path, before anything listens; a port in use is named; a mesh
// without a launcher is refused.
#include <gtest/gtest.h>

#include <fstream>

#include "../scratch_dir.h"
#include "run_osp.h"

namespace {

using osp::test::expect_cli_error;

TEST(ServeCli, BadFlagsAndModelsFailNamingThem) {
  const osp::test::ScratchDir dir;
  const std::string model = std::string(OSP_SOURCE_DIR) + "/models/osp-next-tiny";
  expect_cli_error("serve --model " + (dir / "no_such_model"), "no_such_model");
  expect_cli_error("serve --model " + model + " --queue 0", "--queue");
  expect_cli_error("serve --model " + model + " --port 70000", "--port");
  expect_cli_error("serve --model " + model + " --api-key-file " + (dir / "missing.key"), "missing.key");
  std::ofstream(dir / "empty.key") << "\n";
  expect_cli_error("serve --model " + model + " --api-key-file " + (dir / "empty.key"), "empty");
  expect_cli_error("serve --model " + model + " --host 203.0.113.7 --port 8080", "203.0.113.7:8080");
  expect_cli_error("bench serve --model " + model + " --clients 0", "--clients");
  expect_cli_error("serve --model " + model + " --lora-dir " + (dir / "no_such_dir"), "no_such_dir");
  // A mesh needs a launcher's ranks: alone, its product (2) cannot divide the one rank.
  expect_cli_error("serve --model " + model + " --ssp 2 --port 0", "skiparse_sp 2");
  expect_cli_error("serve --model " + model + " --sp 0", "--sp");
}

}  // namespace
