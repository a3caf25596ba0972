// `osp dit-forward` on several processes, started exactly as torchrun starts them (RANK,
// WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT in each process's environment), Gloo over
// loopback: outputs equal the single-process run, rank 0 alone writes, --comm-stats reports, and a
// rank that fails makes every rank exit non-zero within the timeout.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include <c10/core/InferenceMode.h>

#include "../reference_dit.h"
#include "launch_ranks.h"
#include "lora_fixture.h"
#include "osp/io/safetensors_writer.h"
#include "osp/io/tensor_source.h"

namespace {

namespace fs = std::filesystem;

using osp::test::RankResult;
using osp::test::read_text;

class ParallelCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("osp_parallel_cli_" + std::to_string(getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    write_model();
    write_inputs();
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // Tiny OSP-Next DiT: dual_end, 8 layers (full 0, 1, 6, 7), P = 2, 4 heads.
  void write_model() {
    osp::dit::DiTConfig c = osp::test::tiny_config(64, 4);
    c.num_layers = 8;
    c.skiparse_model_type = "dual_end";
    c.sparse_ratio = 2;
    c.num_full_blocks = 4;
    c.validate();
    osp::dit::WanDiT model(c, osp::test::kFp32);
    osp::test::randomize(model, 53);
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    for (const auto& item : model.named_parameters()) tensors.emplace_back(item.key(), item.value());
    fs::create_directories(dir_ / "model");
    osp::io::write_safetensors(path("model/diffusion_pytorch_model.safetensors"), tensors);
    std::ofstream(path("model/config.json")) << c.to_json().dump(2);
  }

  // Grid (2, 6, 7): padded to 8 × 8 by Skiparse, uneven Ulysses chunks and tiles.
  void write_inputs() {
    at::Generator g = at::detail::createCPUGenerator(59);
    osp::io::write_safetensors(path("in.safetensors"),
                               {{"x", osp::test::randn({1, 4, 2, 12, 14}, g)},
                                {"t", at::tensor({421.5f})},
                                {"context", osp::test::randn({1, 5, 24}, g)},
                                {"negative_context", osp::test::randn({1, 7, 24}, g)}});
  }

  std::string forward_args(const std::string& out, const std::string& extra) const {
    return "dit-forward --dit " + path("model") + " --in " + path("in.safetensors") + " --out " + out + " " + extra;
  }

  // Starts `ranks` copies of osp with the torchrun environment and waits for all of them.
  // args(rank) gives each rank's arguments; OSP_DIST_TIMEOUT = timeout_s.
  std::vector<RankResult> launch(int ranks, const std::function<std::string(int)>& args, int timeout_s = 60,
                                 int started = -1) {
    std::vector<RankResult> results = osp::test::launch_ranks(dir_, ranks, args, timeout_s, started);
    EXPECT_EQ(results.size(), static_cast<size_t>(started < 0 ? ranks : started)) << "the launch script failed";
    return results;
  }

  at::Tensor single_process(const std::string& extra = "") {
    const std::string out = path("single.safetensors");
    const std::string command = std::string(OSP_BINARY) + " --log-level warn " + forward_args(out, extra) + " 2>&1";
    EXPECT_EQ(std::system(command.c_str()), 0);
    return osp::io::open_tensor_source(out)->load("v");
  }

  // Runs the mesh flags on `ranks` processes and compares rank 0's output with one process.
  void expect_same_as_single_process(int ranks, const std::string& flags, const std::string& single_flags = "") {
    const at::Tensor expected = single_process(single_flags);
    const std::string out = path("parallel.safetensors");
    const auto results = launch(ranks, [&](int) { return forward_args(out, flags); });
    for (size_t r = 0; r < results.size(); ++r) {
      ASSERT_EQ(results[r].exit_code, 0) << "rank " << r << ": " << results[r].output;
    }
    const at::Tensor v = osp::io::open_tensor_source(out)->load("v");
    EXPECT_LT(osp::test::rel_error(v, expected), 1e-5) << flags;
    EXPECT_LT((v - expected).abs().max().item<double>(), 1e-5 * expected.abs().max().item<double>()) << flags;
  }

  fs::path dir_;
};

TEST_F(ParallelCli, UlyssesOnTwoRanksEqualsOneProcess) { expect_same_as_single_process(2, "--sp 2"); }

TEST_F(ParallelCli, SspOnFourRanksEqualsOneProcess) { expect_same_as_single_process(4, "--ssp 4"); }

TEST_F(ParallelCli, SspWithUlyssesOnFourRanksEqualsOneProcess) { expect_same_as_single_process(4, "--ssp 2 --sp 2"); }

TEST_F(ParallelCli, CfgParallelEqualsGuidedOneProcess) {
  expect_same_as_single_process(2, "--cfg-parallel --guidance-scale 5", "--guidance-scale 5");
}

TEST_F(ParallelCli, ShardedWeightsEqualOneProcess) {
  expect_same_as_single_process(2, "--ssp 2 --shard-weights");
}

TEST_F(ParallelCli, CommStatsShowOneCollectivePerSparseBlock) {
  const std::string out = path("v.safetensors");
  const auto results = launch(2, [&](int) { return forward_args(out, "--ssp 2 --comm-stats"); });
  ASSERT_EQ(results[0].exit_code, 0) << results[0].output;
  ASSERT_EQ(results[1].exit_code, 0) << results[1].output;
  // Blocks 2–5 are sparse: the entry gather feeds block 2, switches feed 3, 4, 5 → 3 collectives
  // over 4 sparse blocks (0.75 per block, 1 per switched block); rank 1 prints nothing.
  EXPECT_NE(results[0].output.find("sparse block"), std::string::npos) << results[0].output;
  EXPECT_NE(results[0].output.find("0.75"), std::string::npos) << results[0].output;
  EXPECT_EQ(results[1].output.find("sparse block"), std::string::npos) << results[1].output;
}

TEST_F(ParallelCli, AFailingRankEndsEveryRank) {
  const std::string out = path("v.safetensors");
  const auto start = std::chrono::steady_clock::now();
  // Rank 1 cannot open its weights; rank 0 is already waiting for it in a collective.
  const auto results = launch(2, [&](int r) {
    return r == 1 ? "dit-forward --dit " + path("missing") + " --in " + path("in.safetensors") + " --out " + out
                  : forward_args(out, "--ssp 2");
  }, /*timeout_s=*/20);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(results[1].exit_code, 1) << results[1].output;
  EXPECT_NE(results[1].output.find("error:"), std::string::npos) << results[1].output;
  EXPECT_NE(results[0].exit_code, 0) << results[0].output;
  EXPECT_NE(results[0].output.find("error:"), std::string::npos) << results[0].output;
  EXPECT_LT(seconds, 20.0 + 10.0);
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(ParallelCli, ARankThatNeverStartsEndsTheOthersAtTheTimeout) {
  const std::string out = path("v.safetensors");
  const auto start = std::chrono::steady_clock::now();
  const auto results = launch(2, [&](int) { return forward_args(out, "--ssp 2"); }, /*timeout_s=*/3, /*started=*/1);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(results[0].exit_code, 1) << results[0].output;
  EXPECT_NE(results[0].output.find("did every rank start?"), std::string::npos) << results[0].output;
  EXPECT_LT(seconds, 3.0 + 15.0);
}

TEST_F(ParallelCli, BadMeshIsAnErrorOnEveryRank) {
  const std::string out = path("v.safetensors");
  const auto results = launch(2, [&](int) { return forward_args(out, "--ssp 3"); }, 20);
  for (const auto& r : results) {
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("skiparse_sp 3"), std::string::npos) << r.output;
  }
}

TEST_F(ParallelCli, RunsUnderTorchrun) {
  // OSP_TORCHRUN: the pip LibTorch environment's torchrun, else Debian's (tests/CMakeLists.txt).
  const std::string torchrun = OSP_TORCHRUN;
  if (torchrun.empty() || !fs::exists(torchrun)) GTEST_SKIP() << "no torchrun found at configure time";
  // Debian's torchrun 1.13 under Python 3.11 fails before starting any process (AttributeError in
  // elastic's to_map); skip where even a trivial run fails.
  if (std::system((torchrun + " --standalone --nproc_per_node 1 --no_python /bin/true > /dev/null 2>&1").c_str()) != 0) {
    GTEST_SKIP() << torchrun << " cannot start /bin/true on this machine";
  }
  const at::Tensor expected = single_process();
  const std::string out = path("torchrun.safetensors");
  // --nproc_per_node / --no_python: the underscore spellings, which torchrun 1.13 and 2.x both accept.
  const std::string command = "OMP_NUM_THREADS=1 " + torchrun + " --standalone --nproc_per_node 2 --no_python " +
                              std::string(OSP_BINARY) + " --log-level warn " + forward_args(out, "--ssp 2") +
                              " > " + path("torchrun.log") + " 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << read_text(dir_ / "torchrun.log");
  const at::Tensor v = osp::io::open_tensor_source(out)->load("v");
  EXPECT_LT(osp::test::rel_error(v, expected), 1e-5);
}

// `osp generate` under the launcher: the tiny bundle sampled by 2 ranks (SSP, or CFG-parallel)
// gives the latents of one process; rank 0 alone writes.
TEST_F(ParallelCli, GenerateOnTwoRanksEqualsOneProcess) {
  ASSERT_EQ(std::system((std::string(OSP_BINARY) + " --log-level warn init-bundle --out " + path("bundle")).c_str()), 0);
  const auto generate_args = [&](const std::string& out, const std::string& flags) {
    return "generate --model " + path("bundle") + " -p \"a red circle moving left\" -W 64 -H 64 --frames 5 " +
           "--steps 3 --precision fp32 -o " + out + " " + flags;
  };
  const std::string single = std::string(OSP_BINARY) + " --log-level warn " +
                             generate_args(path("single.safetensors"), "") + " > " + path("single.log") + " 2>&1";
  ASSERT_EQ(std::system(single.c_str()), 0) << read_text(dir_ / "single.log");
  const at::Tensor expected = osp::io::open_tensor_source(path("single.safetensors"))->load("latents");
  for (const std::string flags : {"--ssp 2", "--cfg-parallel"}) {
    const std::string out = path("parallel.safetensors");
    fs::remove(out);
    const auto results = launch(2, [&](int) { return generate_args(out, flags); });
    for (size_t r = 0; r < results.size(); ++r) {
      ASSERT_EQ(results[r].exit_code, 0) << flags << ", rank " << r << ": " << results[r].output;
    }
    const at::Tensor latents = osp::io::open_tensor_source(out)->load("latents");
    EXPECT_LT(osp::test::rel_error(latents, expected), 1e-5) << flags;
  }
  // One video cannot be split by batch: 2 ranks with nothing to split them is an error on both.
  const auto results = launch(2, [&](int) { return generate_args(path("dp.safetensors"), ""); }, 20);
  for (const auto& r : results) {
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("data parallelism"), std::string::npos) << r.output;
  }
}

// LoRAs under weight sharding and sequence parallelism: merged (into the weights before they are
// sharded) and runtime (the adapters replicated beside the sharded base) give one process's latents.
TEST_F(ParallelCli, GenerateWithLorasOnTwoRanksEqualsOneProcess) {
  ASSERT_EQ(std::system((std::string(OSP_BINARY) + " --log-level warn init-bundle --out " + path("bundle")).c_str()), 0);
  osp::io::write_lora_file(path("style.safetensors"), osp::test::random_bundle_lora(path("bundle/dit"), 4, 9));
  const auto generate_args = [&](const std::string& out, const std::string& flags) {
    return "generate --model " + path("bundle") + " -p \"a red circle moving left\" -W 128 -H 64 --frames 5 " +
           "--steps 3 --precision fp32 --lora " + path("style.safetensors") + ":0.7 -o " + out + " " + flags;
  };
  for (const std::string mode : {"merged", "runtime"}) {
    const std::string single = std::string(OSP_BINARY) + " --log-level warn " +
                               generate_args(path("single.safetensors"), "--lora-mode " + mode) + " > " +
                               path("single.log") + " 2>&1";
    ASSERT_EQ(std::system(single.c_str()), 0) << read_text(dir_ / "single.log");
    const at::Tensor expected = osp::io::open_tensor_source(path("single.safetensors"))->load("latents");
    for (const std::string flags : {"--ssp 2 --shard-weights", "--sp 2"}) {
      const std::string out = path("parallel.safetensors");
      fs::remove(out);
      const auto results = launch(2, [&](int) { return generate_args(out, flags + " --lora-mode " + mode); });
      for (size_t r = 0; r < results.size(); ++r) {
        ASSERT_EQ(results[r].exit_code, 0) << flags << ", rank " << r << ": " << results[r].output;
      }
      const at::Tensor latents = osp::io::open_tensor_source(out)->load("latents");
      EXPECT_LT(osp::test::rel_error(latents, expected), 1e-5) << mode << " " << flags;
    }
  }
}

}  // namespace
