// The library API under a launcher: ranks of a test program (parallel_rank_program.cpp) started
// with torchrun's variables run one DiT over a mesh (SSP, Ulysses, cfg-parallel, sharded weights)
// through Pipeline::from_pretrained / generate, and every rank's latents equal the one-process
// latents; Pipeline::broadcast hands rank 0's message to every rank; a request cancelled on one
// rank stops on every rank at the same step and the next request runs; a mesh without a launcher,
// or one the model cannot take, is a kBadInput error.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "../integration/launch_ranks.h"
#include "../scratch_dir.h"

namespace {

namespace fs = std::filesystem;

std::vector<float> read_floats(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> out(bytes.size() / sizeof(float));
  std::memcpy(out.data(), bytes.data(), out.size() * sizeof(float));
  return out;
}

double relative_error(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff += (a[i] - b[i]) * static_cast<double>(a[i] - b[i]);
    norm += b[i] * static_cast<double>(b[i]);
  }
  return std::sqrt(diff / std::max(norm, 1e-30));
}

std::string command(const fs::path& out, const std::string& mesh) {
  return std::string(OSP_API_RANK_PROGRAM) + " " + OSP_SOURCE_DIR + "/models/osp-next-tiny " + out.string() + " " + mesh;
}

struct MeshCase {
  const char* name;
  int ranks;
  std::string mesh;  // SP SSP CFG SHARD [SIZE]
};

class ApiMesh : public ::testing::TestWithParam<MeshCase> {};

TEST_P(ApiMesh, EveryRankGetsTheOneProcessLatents) {
  const MeshCase& c = GetParam();
  const osp::test::ScratchDir dir;
  // The same request in one process: the case's size (its fifth field) if it has one.
  size_t size_at = 0;
  for (int field = 0; field < 4 && size_at != std::string::npos; ++field) size_at = c.mesh.find(' ', size_at + 1);
  const std::string single = "1 1 0 0" + (size_at == std::string::npos ? std::string() : c.mesh.substr(size_at));
  ASSERT_EQ(std::system((command(dir.path() / "single", single) + " 2> " + (dir.path() / "single.log").string()).c_str()), 0)
      << osp::test::read_text(dir.path() / "single.log");
  const std::vector<float> reference = read_floats(dir.path() / "single0.bin");
  ASSERT_GT(reference.size(), 0u);
  const auto results = osp::test::launch_commands(dir.path(), c.ranks,
                                                  [&](int) { return command(dir.path() / "rank", c.mesh); }, 120);
  ASSERT_EQ(static_cast<int>(results.size()), c.ranks);
  for (int r = 0; r < c.ranks; ++r) {
    ASSERT_EQ(results[r].exit_code, 0) << results[r].output;
    for (const char* which : {"", ".second"}) {
      const std::vector<float> got = read_floats(dir.path() / ("rank" + std::to_string(r) + which + ".bin"));
      ASSERT_EQ(got.size(), reference.size());
      const double error = relative_error(got, reference);
      std::printf("[ api mesh ] %s, rank %d%s: latents %.3g relative to one process\n", c.name, r, which, error);
      EXPECT_LT(error, 1e-5);
    }
    EXPECT_EQ(osp::test::read_text(dir.path() / ("rank" + std::to_string(r) + ".message")), "from rank 0");
  }
}

INSTANTIATE_TEST_SUITE_P(Meshes, ApiMesh,
                         ::testing::Values(MeshCase{"ssp_2", 2, "1 2 0 0"}, MeshCase{"ulysses_2", 2, "2 1 0 0 128"},
                                           MeshCase{"cfg_parallel_2", 2, "1 1 1 0"},
                                           MeshCase{"ssp_2_sharded_weights", 2, "1 2 0 1"}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ApiMeshCancel, ACancelOnOneRankStopsEveryRankAtTheSameStepAndTheNextRequestRuns) {
  const osp::test::ScratchDir dir;
  ASSERT_EQ(std::system((command(dir.path() / "single", "1 1 0 0") + " 2> " + (dir.path() / "single.log").string()).c_str()), 0)
      << osp::test::read_text(dir.path() / "single.log");
  EXPECT_EQ(osp::test::read_text(dir.path() / "single0.message"), "from rank 0");
  const std::vector<float> reference = read_floats(dir.path() / "single0.bin");
  // Rank 1 cancels after sampling step 1; rank 0 never does. Without the ranks agreeing, rank 1
  // would leave while rank 0 waits in the DiT's all-to-all for it (a timeout, not a cancel).
  const auto results = osp::test::launch_commands(
      dir.path(), 2, [&](int) { return "OSP_TEST_CANCEL_RANK=1 " + command(dir.path() / "rank", "1 2 0 0"); }, 60);
  for (int r = 0; r < 2; ++r) {
    ASSERT_EQ(results[r].exit_code, 0) << results[r].output;
    EXPECT_EQ(osp::test::read_text(dir.path() / ("rank" + std::to_string(r) + ".cancelled")), "1") << "rank " << r;
    EXPECT_LT(relative_error(read_floats(dir.path() / ("rank" + std::to_string(r) + ".bin")), reference), 1e-5);
  }
}

TEST(ApiMeshErrors, AMeshWithoutALauncherOrThatTheModelCannotTakeIsBadInput) {
  const osp::test::ScratchDir dir;
  const auto run = [&](const std::string& mesh, int ranks) {
    return osp::test::launch_commands(dir.path(), ranks, [&](int) { return command(dir.path() / "x", mesh); }, 60);
  };
  const auto alone = [&](const std::string& mesh) {
    const std::string log = (dir.path() / "alone.log").string();
    const int status = std::system((command(dir.path() / "x", mesh) + " 2> " + log).c_str());
    return std::make_pair(status, osp::test::read_text(log));
  };
  auto [status, log] = alone("1 2 0 0");
  EXPECT_NE(status, 0);
  EXPECT_NE(log.find("bad_input"), std::string::npos) << log;
  std::tie(status, log) = alone("0 1 0 0");
  EXPECT_NE(log.find("parallel.sp"), std::string::npos) << log;
  // Ulysses splits the model's 4 attention heads over the ranks: 3 ranks cannot take them.
  const auto small = run("3 1 0 0", 3);
  ASSERT_EQ(small.size(), 3u);
  for (const auto& r : small) {
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("bad_input"), std::string::npos) << r.output;
  }
  const auto three = run("1 3 0 0", 3);  // P² = 4 is not divisible by 3
  ASSERT_EQ(three.size(), 3u);
  for (const auto& r : three) {
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("bad_input"), std::string::npos) << r.output;
  }
}

}  // namespace
