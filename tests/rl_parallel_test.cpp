// RL over several ranks (docs/rl.md "Sharded and sequence-parallel RL"): data parallel, fully
// sharded and sequence-parallel (SSP, Ulysses) runs equal one process with the same total batch
// (rewards, kept samples, the adapter), a fully sharded run holds 1/N of the adapter per rank and
// resumes exactly from its checkpoint, and the parallel section's errors name the field.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "expect_error.h"
#include "rl_fixture.h"
#include "run_ranks.h"
#include "scratch_dir.h"

namespace {

namespace fs = std::filesystem;
using osp::rl::EpochStats;
using osp::rl::GrpoTrainer;
using osp::rl::RlConfig;
using osp::test::brightness;
using osp::test::RlTest;

constexpr int64_t kTotalBatch = 8;  // videos per rollout batch over all data-parallel groups
constexpr int kEpochs = 2;

struct Mesh {
  const char* name;
  int ranks;
  int data_groups;
  const char* parallel;  // the config's parallel section
  int64_t width = 32;    // Ulysses splits the token columns: it needs a wider video
};

struct MeshRun {
  std::vector<EpochStats> stats;  // rank 0's
  osp::parallel::NamedTensors adapter;
};

// One batch per epoch, trained as one micro-batch: the groups' parts of the gradient average to
// the whole batch's.
RlConfig batch_config(RlConfig c, int data_groups, int64_t width = 32) {
  c.width = width;
  c.batches_per_epoch = 1;
  c.sample_batch_size = kTotalBatch / data_groups;
  c.train_batch_size = kTotalBatch / data_groups;
  return c;
}

double largest_difference(const osp::parallel::NamedTensors& a, const osp::parallel::NamedTensors& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    worst = std::max(worst, (a[i].second - b[i].second).abs().max().item<double>());
  }
  return worst;
}

class RlParallelTest : public RlTest {
 protected:
  // `mesh` on its ranks for kEpochs epochs (or until `epochs`), resuming from `resume` when given.
  MeshRun run_mesh(const Mesh& mesh, const std::string& out, int epochs = kEpochs, const std::string& resume = "") {
    MeshRun run;
    osp::test::run_ranks(mesh.ranks, [&](osp::parallel::World& world) {
      const std::string extra = "epochs: " + std::to_string(epochs) + "\nparallel: " + mesh.parallel + "\n";
      GrpoTrainer trainer(batch_config(config(out, extra), mesh.data_groups, mesh.width), brightness(), world);
      if (!resume.empty()) trainer.resume(resume);
      std::vector<EpochStats> stats = trainer.run();
      osp::parallel::NamedTensors adapter = trainer.adapter();  // collective
      if (world.rank() == 0) {
        run.stats = std::move(stats);
        run.adapter = std::move(adapter);
      }
    });
    return run;
  }
};

class RlMeshParity : public RlParallelTest, public ::testing::WithParamInterface<Mesh> {};

TEST_P(RlMeshParity, EqualsOneProcessWithTheSameTotalBatch) {
  const osp::test::ScratchDir dir;
  const Mesh mesh = GetParam();
  GrpoTrainer single(batch_config(config(dir / "one", "epochs: 2\n"), 1, mesh.width), brightness());
  const std::vector<EpochStats> expected = single.run();
  const MeshRun got = run_mesh(mesh, dir / "mesh");
  ASSERT_EQ(got.stats.size(), expected.size());
  for (size_t e = 0; e < expected.size(); ++e) {
    EXPECT_NEAR(got.stats[e].reward_mean, expected[e].reward_mean, 1e-6) << "epoch " << e;
    EXPECT_NEAR(got.stats[e].reward_std, expected[e].reward_std, 1e-6) << "epoch " << e;
    EXPECT_EQ(got.stats[e].kept, expected[e].kept) << "epoch " << e;
    EXPECT_EQ(got.stats[e].samples, expected[e].samples) << "epoch " << e;
  }
  const double worst = largest_difference(got.adapter, single.adapter());
  std::printf("[ rl       ] %s vs 1 process: reward %.6f / %.6f, largest adapter difference %.3g\n", mesh.name,
              got.stats.back().reward_mean, expected.back().reward_mean, worst);
  EXPECT_LE(worst, 1e-4);
  // The adapter trained (B starts at zero), so the parity is not that of untouched weights.
  double moved = 0;
  for (const auto& [name, t] : single.adapter()) {
    if (name.find("lora_B") != std::string::npos) moved = std::max(moved, t.abs().max().item<double>());
  }
  EXPECT_GT(moved, 100 * worst + 1e-6);
}

INSTANTIATE_TEST_SUITE_P(Meshes, RlMeshParity,
                         ::testing::Values(Mesh{"dp2", 2, 2, "{shard: none}"},
                                           Mesh{"dp2_full", 2, 2, "{shard: full}"},
                                           Mesh{"ssp2", 2, 1, "{ssp: 2}"},
                                           Mesh{"sp2", 2, 1, "{sp: 2}", 128},
                                           Mesh{"ssp2_full", 2, 1, "{shard: full, ssp: 2}"},
                                           Mesh{"dp2_ssp2_full", 4, 2, "{shard: full, ssp: 2}"}),
                         [](const ::testing::TestParamInfo<Mesh>& info) { return std::string(info.param.name); });

TEST_F(RlParallelTest, AFullyShardedRunHoldsPartOfTheAdapterAndResumesExactly) {
  const osp::test::ScratchDir dir;
  const Mesh full{"dp2_full", 2, 2, "{shard: full}"};
  const MeshRun straight = run_mesh(full, dir / "straight");
  run_mesh(full, dir / "first", 1);
  const MeshRun resumed = run_mesh(full, dir / "first", kEpochs, dir / "first");
  ASSERT_EQ(resumed.stats.size(), 1u);
  EXPECT_EQ(resumed.stats[0].reward_mean, straight.stats[1].reward_mean);
  EXPECT_EQ(largest_difference(resumed.adapter, straight.adapter), 0.0);

  osp::test::run_ranks(2, [&](osp::parallel::World& world) {
    GrpoTrainer trainer(batch_config(config(dir / "held", "parallel: {shard: full}\n"), 2), brightness(),
                        world);
    int64_t held = 0, whole = 0;
    for (const auto& [name, t] : trainer.strategy().owned()) held += t.numel();
    for (const auto& [name, t] : trainer.adapter()) whole += t.numel();
    EXPECT_LE(held, whole / 2 + 64) << "rank " << world.rank();
    EXPECT_GE(held, whole / 2) << "rank " << world.rank();
  });
}

TEST_F(RlParallelTest, ParallelSectionErrorsNameTheField) {
  const osp::test::ScratchDir dir;
  osp::test::expect_error([&] { config(dir / "a", "parallel: {shard: half}\n"); },
                          {"rl.yaml: parallel.shard", "half"});
  osp::test::expect_error([&] { config(dir / "a", "parallel: {ssp: 0}\n"); }, {"rl.yaml: parallel.ssp"});
  osp::test::expect_error([&] { config(dir / "a", "parallel: {cfg: 2}\n"); },
                          {"rl.yaml: parallel.cfg", "unknown field"});
  osp::test::expect_error([&] { GrpoTrainer(config(dir / "a", "parallel: {ssp: 2}\n"), brightness()); },
                          {"rl.yaml", "need the ranks of a launcher"});
  osp::test::run_ranks(2, [&](osp::parallel::World& world) {
    osp::test::expect_error(
        [&] { GrpoTrainer(config(dir / "b", "parallel: {ssp: 4}\n"), brightness(), world); },
        {"rl.yaml: parallel", "does not divide the 2 rank(s)"});
    // 32 pixels wide: 2 token columns, one Skiparse unit, which Ulysses 2 cannot split.
    osp::test::expect_error(
        [&] { GrpoTrainer(config((dir / "c"), "parallel: {sp: 2}\n"), brightness(), world); },
        {"rl.yaml: parallel.sp", "some rank would get no tokens", "video 32×32"});
    // Neither rank tears its world down while the other may still be opening the groups of the
    // last trainer (which fail only after the mesh is built): that read "connection closed by peer".
    world.global().barrier();
  });
}

}  // namespace
