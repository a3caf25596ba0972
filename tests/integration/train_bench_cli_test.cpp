// `osp bench train --ranks`: the strategies side by side on spawned ranks; the replicated row's
// all-reduce traffic is exactly its expected count, full sharding's is not above it (bf16 gathers
// halve the gathered blocks' bytes), and a mesh the model cannot take ends with an error.
#include <gtest/gtest.h>

#include <sstream>

#include "run_osp.h"

namespace {

// The cells of the table row that starts with `name`.
std::vector<std::string> row(const std::string& output, const std::string& name) {
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(name + " ", 0) != 0) continue;
    std::vector<std::string> cells;
    std::istringstream parts(line);
    std::string cell;
    while (std::getline(parts, cell, '|')) {
      const auto first = cell.find_first_not_of(' '), last = cell.find_last_not_of(' ');
      cells.push_back(first == std::string::npos ? "" : cell.substr(first, last - first + 1));
    }
    return cells;
  }
  return {};
}

TEST(TrainBenchCli, ComparesTheStrategiesOnSpawnedRanks) {
  const auto r = osp::test::run_osp("bench train --ranks 2 --ssp 2 --config tiny --steps 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("mesh dp 1 × skiparse_sp 2 × sp 1"), std::string::npos) << r.output;
  const auto replicated = row(r.output, "replicated"), sharded = row(r.output, "fully sharded");
  ASSERT_EQ(replicated.size(), 7u) << r.output;
  ASSERT_EQ(sharded.size(), 7u) << r.output;
  EXPECT_EQ(replicated[5], "1.00");
  EXPECT_LE(std::stod(sharded[5]), 1.0);
  EXPECT_GT(std::stod(sharded[5]), 0.5);
  EXPECT_GT(std::stod(replicated[6]), 0.0);  // the SSP exchanges
  osp::test::expect_cli_error("bench train --ranks 2 --sp 2 --config tiny --steps 1", "spatial tiles");
  osp::test::expect_cli_error("bench train --ranks 2 --shard half --steps 1", "--shard");
}

}  // namespace
