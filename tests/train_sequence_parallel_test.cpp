// Sequence-parallel training (docs/training.md "Sequence-parallel training"): Ulysses and SSP steps on
// 2 and 4 Gloo ranks (threads of this process), alone, together, beside data parallelism, with full
// sharding and with activation checkpointing, against one process with the same global batch; the
// backward of every collective is its adjoint (a check on random tensors); the traffic of SSP
// against Ulysses per training step; and the config errors.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "expect_error.h"
#include "parallel_runs.h"
#include "run_ranks.h"
#include "scratch_dir.h"
#include "osp/parallel/differentiable_collectives.h"

namespace {

namespace fs = std::filesystem;
using osp::test::RankRun;

constexpr std::chrono::milliseconds kTimeout(120000);

// A Skiparse DiT (dual_end, P = 2: blocks 0–1 and 6–7 full, 2–5 token/group) on latents of
// 2 × height × width; 8 × 12 gives a 2 × 4 × 6 token grid, padded to 2 × 4 × 8 in the sparse blocks.
std::string sparse_config(const fs::path& out, const std::string& extra, int64_t steps, int64_t batch,
                          int64_t height = 8, int64_t width = 12) {
  return std::string("model:\n") +
         "  fields: {dim: 32, ffn_dim: 48, num_heads: 4, num_layers: 8, freq_dim: 32, text_dim: 24, text_len: 8,\n"
         "           in_dim: 4, out_dim: 4, patch_size: [1, 2, 2], skiparse_model_type: dual_end, sparse_ratio: 2,\n"
         "           num_full_blocks: 4}\n"
         "  init_seed: 3\n"
         "data:\n"
         "  synthetic: {samples: 6, frames: 2, height: " + std::to_string(height) + ", width: " + std::to_string(width) +
         ", text_tokens: 5, seed: 4}\n" +
         osp::test::kParityOptimizer + extra + osp::test::run_section(steps, batch) + "output_dir: " + out.string() + "\n";
}

struct MeshCase {
  const char* name;
  int ranks;
  int dp;              // data-parallel groups: per-rank batch = global / dp
  std::string extra;   // config lines of the parallel run
};

class SequenceParallelStep : public ::testing::TestWithParam<MeshCase> {};

TEST_P(SequenceParallelStep, EqualsOneProcess) {
  const MeshCase& mc = GetParam();
  const osp::test::ScratchDir dir;
  const int64_t global = 2, steps = 2;
  const RankRun single = osp::test::train_in_one_process(steps, sparse_config(dir.path() / "one", "", steps, global));
  const auto runs = osp::test::train_on_ranks(
      mc.ranks, steps, sparse_config(dir.path() / "many", mc.extra, steps, global / mc.dp), kTimeout);
  osp::test::expect_ranks_agree(runs);
  double loss = 0, norm = 0;
  for (int64_t s = 0; s < steps; ++s) {
    loss = std::max(loss, std::abs(runs[0].stats[s].loss - single.stats[s].loss) / single.stats[s].loss);
    norm = std::max(norm, std::abs(runs[0].stats[s].grad_norm - single.stats[s].grad_norm) / single.stats[s].grad_norm);
  }
  const double weights = osp::test::global_error(runs[0].weights, single.weights);
  const double worst = osp::test::worst_error(runs[0].weights, single.weights);
  std::printf("[ sequence parallel ] %s on %d ranks vs one process, %lld steps: loss %.3g, grad norm %.3g, weights "
              "%.3g (worst tensor %.3g) relative; %lld collectives, %.1f KiB off-rank per step and rank\n",
              mc.name, mc.ranks, static_cast<long long>(steps), loss, norm, weights, worst,
              static_cast<long long>(runs[0].traffic.collectives), runs[0].traffic.bytes_off_rank / 1024.0);
  EXPECT_NE(single.stats[0].loss, single.stats[1].loss);  // the first step changed the weights
  EXPECT_LE(loss, 1e-6);
  EXPECT_LE(norm, 1e-6);
  EXPECT_LE(weights, 1e-6);
  EXPECT_LE(worst, 1e-5);
}

INSTANTIATE_TEST_SUITE_P(
    Meshes, SequenceParallelStep,
    ::testing::Values(MeshCase{"ulysses_2", 2, 1, "parallel: {sp: 2}\n"},
                      MeshCase{"ssp_2", 2, 1, "parallel: {ssp: 2}\n"},
                      MeshCase{"ssp_4", 4, 1, "parallel: {ssp: 4}\n"},
                      MeshCase{"ssp_2_sp_2", 4, 1, "parallel: {ssp: 2, sp: 2}\n"},
                      MeshCase{"dp_2_ssp_2", 4, 2, "parallel: {ssp: 2}\n"},
                      MeshCase{"ssp_2_checkpointed", 2, 1, "parallel: {ssp: 2}\nactivation_checkpointing: true\n"},
                      MeshCase{"ssp_2_fully_sharded", 2, 1, "parallel: {ssp: 2, shard: full}\n"},
                      MeshCase{"ulysses_2_fully_sharded", 2, 1, "parallel: {sp: 2, shard: full}\n"}),
    [](const auto& info) { return std::string(info.param.name); });

// <A·x, y> = <x, Aᵀ·y> summed over the ranks, with Aᵀ taken from autograd: the backward of each
// collective is its exact adjoint.
TEST(DifferentiableCollectives, BackwardIsTheAdjoint) {
  for (const int ranks : {2, 3}) {
    std::vector<double> lhs(ranks), rhs(ranks);
    for (const bool gather : {false, true}) {
      osp::test::run_ranks(
          ranks,
          [&](osp::parallel::World& world) {
            const int r = world.rank();
            const auto& group = world.global();
            at::Tensor x = at::randn({ranks, 3, 5}, at::TensorOptions().dtype(at::kDouble))
                               .mul(r + 1).add(r).requires_grad_(true);
            const at::Tensor out = gather ? osp::parallel::all_gather(group, x, 1) : osp::parallel::all_to_all(group, x);
            const at::Tensor y = at::randn(out.sizes(), at::TensorOptions().dtype(at::kDouble)).add(0.5 * r);
            (out * y).sum().backward();
            lhs[r] = (out * y).sum().item<double>();
            rhs[r] = (x.grad() * x).sum().item<double>();
          },
          kTimeout);
      double a = 0, b = 0;
      for (int r = 0; r < ranks; ++r) {
        a += lhs[r];
        b += rhs[r];
      }
      EXPECT_NEAR(a, b, 1e-10 * std::abs(a)) << (gather ? "all_gather" : "all_to_all") << " on " << ranks << " ranks";
    }
  }
}

// docs/skiparse.md "Communication volume" in training: per sparse block, SSP moves the hidden state
// once where Ulysses moves q, k, v and the output, forward and backward alike.
TEST(SequenceParallelTraffic, SspMovesAQuarterOfUlyssesPerSparseBlock) {
  const osp::test::ScratchDir dir;
  using osp::parallel::CommSite;
  struct Sparse {
    int64_t collectives = 0, bytes = 0, blocks = 0;
  };
  const auto sparse_traffic = [&](const std::string& extra) {
    Sparse s;
    // 16 × 16 latents: a 2 × 8 × 8 grid, which 4 Ulysses ranks tile 2 × 2 without padding.
    osp::test::train_on_ranks(4, 1, sparse_config(dir.path() / "out", extra, 1, 1, 16, 16), kTimeout,
                              [&](osp::parallel::World& world, osp::train::Trainer&) {
                                if (world.rank() != 0) return;
                                const auto& c = world.counters().at(CommSite::kSparseBlock);
                                s = {c.collectives, c.bytes_off_rank, world.counters().blocks(CommSite::kSparseBlock)};
                              });
    return s;
  };
  const Sparse ulysses = sparse_traffic("parallel: {sp: 4}\n"), ssp = sparse_traffic("parallel: {ssp: 4}\n");
  // 4 sparse blocks (2–5): Ulysses 4 all-to-alls in each, SSP one switch before blocks 3, 4 and 5
  // (block 2's input arrives with the entry); each once forward and once backward.
  EXPECT_EQ(ulysses.blocks, 4);
  EXPECT_EQ(ulysses.collectives, 2 * 4 * 4);
  EXPECT_EQ(ssp.collectives, 2 * 3);
  const double per_block = (static_cast<double>(ssp.bytes) / 3) / (static_cast<double>(ulysses.bytes) / 4);
  std::printf("[ sequence parallel ] one training step, 4 ranks, sparse blocks: Ulysses %lld collectives %.1f KiB "
              "off-rank, SSP %lld collectives %.1f KiB; per sparse block SSP/Ulysses = %.3f (expected 0.25)\n",
              static_cast<long long>(ulysses.collectives), ulysses.bytes / 1024.0,
              static_cast<long long>(ssp.collectives), ssp.bytes / 1024.0, per_block);
  EXPECT_NEAR(per_block, 0.25, 1e-9);
}

TEST(SequenceParallelConfig, MeshErrorsNameTheField) {
  using osp::test::expect_error;
  const osp::test::ScratchDir dir;
  const auto parse = [&](const std::string& extra) {
    return osp::train::TrainConfig::from_yaml(sparse_config(dir.path(), extra, 1, 1), "run.yaml");
  };
  EXPECT_EQ(parse("parallel: {sp: 2, ssp: 4}\n").sequence_parallel(), 8);
  expect_error([&] { parse("parallel: {sp: 0}\n"); }, {"run.yaml", "parallel.sp", "0"});
  expect_error([&] { parse("parallel: {ssp: many}\n"); }, {"parallel.ssp", "integer"});
  // Checked against the world and the model when the trainer starts.
  const auto start = [&](int ranks, const std::string& extra) {
    osp::test::run_ranks(ranks, [&](osp::parallel::World& world) {
      const osp::train::TrainConfig c = parse(extra);
      osp::train::Trainer trainer(c, osp::train::make_objective(c), world);
    }, kTimeout);
  };
  expect_error([&] { start(2, "parallel: {ssp: 3}\n"); }, {"run.yaml", "parallel", "not divisible"});
  expect_error([&] { start(3, "parallel: {ssp: 3}\n"); }, {"run.yaml", "parallel", "P²"});
  expect_error([&] { start(3, "parallel: {sp: 3}\n"); }, {"run.yaml", "parallel", "heads"});
  expect_error([&] {
    const osp::train::TrainConfig c = parse("parallel: {ssp: 2}\n");
    osp::train::Trainer trainer(c, osp::train::make_objective(c));
  }, {"run.yaml", "launcher"});
}

}  // namespace
