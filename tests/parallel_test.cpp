// osp::parallel (docs/skiparse.md "Ulysses sequence parallelism", "Sparse Sequence Parallelism (SSP)"): launcher environments, the mesh, the collectives,
// the SSP switch and Ulysses all-to-alls against their serial definitions, and whole DiT forwards
// across ranks against the single-process forward. Ranks run as threads of this process over an
// in-memory store and real Gloo process groups on loopback (the multi-process CLI runs are in
// integration/parallel_cli_test.cpp).
#include <gtest/gtest.h>

#include <c10/core/InferenceMode.h>

#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "reference_dit.h"
#include "run_ranks.h"
#include "test_util.h"
#include "osp/attention/skiparse.h"
#include "osp/core/error.h"
#include "osp/parallel/distributed_dit.h"
#include "osp/parallel/launch_env.h"
#include "osp/parallel/mesh.h"
#include "osp/parallel/ssp.h"
#include "osp/parallel/tiles.h"
#include "osp/parallel/ulysses.h"
#include "osp/parallel/world.h"

namespace {

namespace par = osp::parallel;
namespace sk = osp::attention;
using osp::dit::DiTConfig;
using osp::dit::WanDiT;
using osp::test::rel_error;

constexpr std::chrono::milliseconds kTimeout{30000};

// Runs fn(world) on `ranks` threads joined into one world; rethrows the first failure.
void run_ranks(int ranks, const std::function<void(par::World&)>& fn) { osp::test::run_ranks(ranks, fn, kTimeout); }

// ---------------------------------------------------------------------------------------------
// Launcher environments

par::EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(LaunchEnv, ReadsTorchrunMpirunAndSlurm) {
  const par::LaunchEnv none = par::read_launch_env(env_of({}));
  EXPECT_EQ(none.world_size, 1);
  EXPECT_FALSE(none.distributed());
  const par::LaunchEnv torchrun = par::read_launch_env(env_of(
      {{"RANK", "3"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "10.0.0.2"}, {"MASTER_PORT", "1234"}}));
  EXPECT_EQ(torchrun.launcher, "torchrun");
  EXPECT_EQ(torchrun.rank, 3);
  EXPECT_EQ(torchrun.world_size, 4);
  EXPECT_EQ(torchrun.local_rank, 1);
  EXPECT_EQ(torchrun.master_addr, "10.0.0.2");
  EXPECT_EQ(torchrun.master_port, 1234);
  const par::LaunchEnv mpi = par::read_launch_env(
      env_of({{"OMPI_COMM_WORLD_RANK", "1"}, {"OMPI_COMM_WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}}));
  EXPECT_EQ(mpi.launcher, "mpirun");
  EXPECT_EQ(mpi.rank, 1);
  EXPECT_EQ(mpi.master_addr, "127.0.0.1");
  EXPECT_EQ(mpi.master_port, 29500);
  const par::LaunchEnv slurm = par::read_launch_env(env_of({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "8"}}));
  EXPECT_EQ(slurm.launcher, "slurm");
  EXPECT_EQ(slurm.rank, 5);
  EXPECT_EQ(slurm.world_size, 8);
}

TEST(LaunchEnv, BadValuesNameTheVariable) {
  const auto expect_error = [](std::map<std::string, std::string> vars, const std::string& needle) {
    try {
      par::read_launch_env(env_of(std::move(vars)));
      ADD_FAILURE() << "no error for " << needle;
    } catch (const osp::Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error({{"RANK", "two"}, {"WORLD_SIZE", "4"}}, "RANK");
  expect_error({{"RANK", "4"}, {"WORLD_SIZE", "4"}}, "RANK");
  expect_error({{"RANK", "0"}, {"WORLD_SIZE", "0"}}, "WORLD_SIZE");
  expect_error({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "70000"}}, "MASTER_PORT");
}

// ---------------------------------------------------------------------------------------------
// Mesh

DiTConfig sparse_config(int64_t heads = 4, int64_t layers = 8, int64_t full_blocks = 4) {
  DiTConfig c = osp::test::tiny_config(16 * heads, heads);
  c.num_layers = layers;
  c.skiparse_model_type = "dual_end";
  c.sparse_ratio = 2;
  c.num_full_blocks = full_blocks;
  c.validate();
  return c;
}

TEST(Mesh, CoordinatesAreRowMajor) {
  const par::MeshShape shape{2, 1, 2, 2};
  for (int r = 0; r < shape.size(); ++r) EXPECT_EQ(par::mesh_rank(shape, par::mesh_coords(shape, r)), r);
  const par::MeshCoords c = par::mesh_coords(shape, 5);  // 5 = (1·1 + 0)·4 + 0·2 + 1
  EXPECT_EQ(c.cfg, 1);
  EXPECT_EQ(c.ssp, 0);
  EXPECT_EQ(c.sp, 1);
  EXPECT_EQ(par::full_block_degree(40, 4), 4);
  EXPECT_EQ(par::full_block_degree(12, 8), 4);  // "Ulysses sequence parallelism": gcd when SP does not divide the heads
  EXPECT_EQ(par::full_block_degree(3, 2), 1);
}

TEST(Mesh, ConstraintsAreCheckedUpFront) {
  const DiTConfig c = sparse_config();
  const auto expect_error = [&](par::MeshShape shape, int world, const DiTConfig& config, const std::string& needle) {
    try {
      par::validate_mesh(shape, world, config);
      ADD_FAILURE() << "no error for " << shape.describe();
    } catch (const osp::Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  EXPECT_NO_THROW(par::validate_mesh({1, 1, 4, 1}, 4, c));
  EXPECT_NO_THROW(par::validate_mesh({2, 1, 2, 2}, 8, c));
  expect_error({1, 1, 3, 1}, 3, c, "--ssp");        // P² = 4 % 3 ≠ 0
  expect_error({1, 1, 8, 1}, 8, c, "--ssp");        // S > P²
  expect_error({1, 1, 1, 3}, 3, c, "--sp");         // 4 heads % 3
  expect_error({1, 1, 2, 1}, 4, c, "launcher");     // world mismatch
  expect_error({3, 1, 1, 1}, 3, c, "--cfg-parallel");
  expect_error({1, 1, 2, 1}, 2, osp::test::tiny_config(32, 2), "Skiparse");
}

TEST(Tiles, FollowTheSpecSplitAndRoundTrip) {
  // "Ulysses on spatial tiles": 4 ranks → 2×2 tiles of ⌈nh/2⌉·P² rows; H = 6, W = 7 at P = 2 → nh = nw = 2, tiles of 4.
  const auto tiles = par::spatial_tiles({2, 6, 7}, 2, 4);
  ASSERT_EQ(tiles.size(), 4u);
  EXPECT_EQ(tiles[1].x0, 4);
  EXPECT_EQ(tiles[1].cols, 3);
  EXPECT_EQ(tiles[2].y0, 4);
  EXPECT_EQ(tiles[2].rows, 2);
  const auto two = par::spatial_tiles({1, 5, 9}, 2, 2);  // 2 → 1×2 split along columns
  EXPECT_EQ(two[0].rows, 5);
  EXPECT_EQ(two[1].x0, 8);
  EXPECT_THROW(par::spatial_tiles({1, 4, 4}, 2, 2), osp::Error);  // one column unit for two ranks
  const at::Tensor x = osp::test::randn({2, 2 * 6 * 7, 3}, 5);
  std::vector<at::Tensor> pieces;
  for (const auto& t : tiles) pieces.push_back(par::crop_tile(x, {2, 6, 7}, t));
  EXPECT_TRUE(at::equal(par::assemble_tiles(at::cat(pieces, 1), {2, 6, 7}, tiles), x));
}

// ---------------------------------------------------------------------------------------------
// Collectives and the SSP / Ulysses primitives

TEST(Collectives, AllToAllAndAllGatherMoveSlicesByRank) {
  for (int S : {2, 4}) {
    run_ranks(S, [S](par::World& world) {
      const int r = world.rank();
      // Slice d of rank r holds 100·r + d.
      const at::Tensor send = (at::arange(S, at::kFloat) + 100.0f * r).view({S, 1}).expand({S, 3}).contiguous();
      const at::Tensor got = world.global().all_to_all(send);
      for (int s = 0; s < S; ++s) EXPECT_EQ(got[s][0].item<float>(), 100.0f * s + r);
      const at::Tensor gathered = world.global().all_gather(at::full({1, 2}, static_cast<float>(r)), 0);
      EXPECT_EQ(gathered.size(0), S);
      for (int s = 0; s < S; ++s) EXPECT_EQ(gathered[s][1].item<float>(), static_cast<float>(s));
      const at::Tensor bf16 = world.global().all_gather(at::full({2}, 1.5 + r, at::kBFloat16), 0);
      EXPECT_EQ(bf16.scalar_type(), at::kBFloat16);
      EXPECT_EQ(bf16[2 * (S - 1)].item<float>(), 1.5f + (S - 1));
      EXPECT_EQ(world.counters().at(par::CommSite::kOther).collectives, 3);
    });
  }
}

// The collectives of training: the reduce-scatter equals each rank's chunk of the sum of every
// rank's buffer, the all-reduce the sum, the asynchronous all-gather the synchronous one (bf16
// included), every rank gets the same bits, and the counters see each one.
TEST(Collectives, ReduceScatterAllReduceAndAsyncGatherEqualTheirFormulas) {
  for (int S : {2, 3}) {
    std::vector<at::Tensor> buffers, chunks(S), sums(S);
    for (int r = 0; r < S; ++r) buffers.push_back(osp::test::randn({S * 5}, 300 + r));
    const at::Tensor total = at::stack(buffers).to(at::kDouble).sum(0);
    run_ranks(S, [&](par::World& world) {
      const int r = world.rank();
      chunks[r] = world.global().reduce_scatter_sum(buffers[r]);
      at::Tensor summed = buffers[r].clone();
      world.global().all_reduce_sum(summed);
      sums[r] = summed;
      par::PendingGather pending = world.global().all_gather_async(at::full({3}, 0.5 + r, at::kBFloat16));
      EXPECT_TRUE(pending.pending());
      const at::Tensor gathered = pending.wait();
      EXPECT_FALSE(pending.pending());
      ASSERT_EQ(gathered.numel(), 3 * S);
      for (int s = 0; s < S; ++s) EXPECT_EQ(gathered[3 * s].item<float>(), 0.5f + s);
      EXPECT_EQ(world.counters().at(par::CommSite::kOther).collectives, 3);
    });
    for (int r = 0; r < S; ++r) {
      EXPECT_LE(rel_error(chunks[r], total.narrow(0, 5 * r, 5)), 1e-7) << "rank " << r;
      EXPECT_LE(rel_error(sums[r], total), 1e-7);
      EXPECT_TRUE(at::equal(sums[r], sums[0]));
    }
  }
}

struct SwitchCase {
  int64_t P, S, T, H, W, b;
};

class SspSwitch : public ::testing::TestWithParam<SwitchCase> {};

// "The token-group switch": the one-collective switch gives every rank exactly its rows of the serial switch ("Layouts"), in
// both directions, on padded grids.
TEST_P(SspSwitch, EqualsTheSerialSwitchOnEveryRank) {
  const SwitchCase sc = GetParam();
  const auto g = sk::SkiparseGeometry::make({sc.T, sc.H, sc.W}, sc.P);
  const int64_t P2 = sc.P * sc.P, G = P2 / sc.S;
  const at::Tensor whole = osp::test::randn({P2 * sc.b, g.n, 3}, 17);  // token layout, all ranks
  const at::Tensor serial = sk::switch_layout(whole, g);
  run_ranks(static_cast<int>(sc.S), [&](par::World& world) {
    const at::Tensor mine = par::keep_subsequences(whole, P2, world.global());
    EXPECT_EQ(mine.size(0), G * sc.b);
    const at::Tensor switched = par::ssp_switch(mine.contiguous(), g, world.global());
    EXPECT_TRUE(at::equal(switched, serial.narrow(0, world.rank() * G * sc.b, G * sc.b)));
    EXPECT_TRUE(at::equal(par::ssp_switch(switched, g, world.global()), mine));  // self-inverse
    EXPECT_TRUE(at::equal(par::gather_subsequences(switched, world.global()), serial));
    EXPECT_EQ(world.counters().at(par::CommSite::kOther).collectives, 3);
  });
}

INSTANTIATE_TEST_SUITE_P(Grids, SspSwitch,
                         ::testing::Values(SwitchCase{2, 2, 2, 6, 7, 2}, SwitchCase{2, 4, 1, 5, 9, 1},
                                           SwitchCase{2, 4, 3, 8, 8, 2}, SwitchCase{3, 3, 1, 10, 9, 1}),
                         [](const auto& info) {
                           const SwitchCase& c = info.param;
                           return "P" + std::to_string(c.P) + "_S" + std::to_string(c.S) + "_grid" + std::to_string(c.T) +
                                  "x" + std::to_string(c.H) + "x" + std::to_string(c.W) + "_b" + std::to_string(c.b);
                         });

// "Ulysses sequence parallelism": q [B, l_r, N, d] → [B, ΣL, N/S, d] holds every rank's tokens (rank order) for head group r;
// the output all-to-all is its inverse; unequal shards are padded inside and stripped.
TEST(Ulysses, AllToAllsScatterHeadsAndGatherTheSequence) {
  const int S = 4;
  const int64_t B = 2, N = 8, d = 3;
  const auto split = par::SequenceSplit::even(13, S);  // 4, 4, 4, 1
  EXPECT_EQ(split.lengths, (std::vector<int64_t>{4, 4, 4, 1}));
  const at::Tensor whole = osp::test::randn({B, 13, N, d}, 23);
  run_ranks(S, [&](par::World& world) {
    const int r = world.rank();
    const at::Tensor mine = par::shard_sequence(whole, split, r).contiguous();
    const at::Tensor heads = par::sequence_to_heads(mine, split, world.global());
    EXPECT_TRUE(at::equal(heads, whole.narrow(2, r * (N / S), N / S)));
    EXPECT_TRUE(at::equal(par::heads_to_sequence(heads, split, world.global()), mine));
    EXPECT_TRUE(at::equal(par::gather_sequence(mine, split, world.global()), whole));
  });
}

// ---------------------------------------------------------------------------------------------
// Whole forwards across ranks against the single-process forward

struct ForwardCase {
  const char* name;
  bool sparse;
  int ssp, sp, cfg;
  bool shard;
  int ranks;
  std::array<int64_t, 3> latent;  // F, H, W of x (grid = F, H/2, W/2)
  int64_t batch;
};

std::unique_ptr<WanDiT> tiny_model(const DiTConfig& c) {
  auto model = std::make_unique<WanDiT>(c, osp::test::kFp32);
  osp::test::randomize(*model, 31);
  return model;
}

class ParallelForward : public ::testing::TestWithParam<ForwardCase> {};

TEST_P(ParallelForward, EqualsSingleProcess) {
  const ForwardCase fc = GetParam();
  const DiTConfig c = fc.sparse ? sparse_config() : osp::test::tiny_config(64, 4);
  auto reference = tiny_model(c);
  const auto in = osp::test::random_inputs(c, fc.batch, fc.latent[0], fc.latent[1], fc.latent[2], 5, 41);
  const at::Tensor negative = osp::test::randn({fc.batch, 7, c.text_dim}, 43);
  const double scale = 4.5;
  at::Tensor expected;
  {
    c10::InferenceMode guard;
    expected = reference->forward(in.x, in.t, in.context);
    if (fc.cfg == 2) {
      const at::Tensor v_u = reference->forward(in.x, in.t, negative);
      expected = v_u + scale * (expected - v_u);
    }
  }
  run_ranks(fc.ranks, [&](par::World& world) {
    auto model = tiny_model(c);  // own copy: weight sharding rewrites its parameters
    par::ParallelOptions options;
    options.ssp = fc.ssp;
    options.sp = fc.sp;
    options.cfg_parallel = fc.cfg == 2;
    options.shard_weights = fc.shard;
    par::DistributedDiT dist(world, *model, options);
    c10::InferenceMode guard;
    const at::Tensor v = fc.cfg == 2 ? dist.guided_forward(in.x, in.t, in.context, negative, scale)
                                     : dist.forward(in.x, in.t, in.context);
    EXPECT_LT(rel_error(v, expected), 1e-5) << fc.name << " rank " << world.rank();
    EXPECT_LT((v - expected).abs().max().item<double>(), 1e-5 * expected.abs().max().item<double>() + 1e-6);
    if (fc.shard) {
      // Between blocks a sharded block holds no parameters; the shards add up to 1/N of the blocks.
      EXPECT_EQ(model->blocks[0]->modulation.numel(), 0);
      int64_t block_bytes = 0;
      for (const auto& block : reference->blocks) {
        for (const auto& p : block->parameters()) block_bytes += static_cast<int64_t>(p.nbytes());
      }
      EXPECT_NEAR(static_cast<double>(dist.weights()->shard_bytes()), block_bytes / double(fc.ranks),
                  64.0 * c.num_layers);
    }
  });
}

INSTANTIATE_TEST_SUITE_P(
    Meshes, ParallelForward,
    ::testing::Values(
        // Grid (2, 6, 7) at P = 2: padded to 8 × 8; 84 tokens, uneven Ulysses chunks.
        ForwardCase{"ssp2", true, 2, 1, 1, false, 2, {2, 12, 14}, 1},
        ForwardCase{"ssp4", true, 4, 1, 1, false, 4, {2, 12, 14}, 2},
        ForwardCase{"ulysses2_tiles", true, 1, 2, 1, false, 2, {2, 12, 14}, 1},
        ForwardCase{"ulysses4_tiles", true, 1, 4, 1, false, 4, {1, 12, 14}, 1},
        ForwardCase{"ssp2_ulysses2", true, 2, 2, 1, false, 4, {2, 12, 14}, 2},
        ForwardCase{"cfg2", true, 1, 1, 2, false, 2, {2, 12, 14}, 1},
        ForwardCase{"cfg2_ssp2", true, 2, 1, 2, false, 4, {1, 12, 14}, 1},
        ForwardCase{"shard2_ssp2", true, 2, 1, 1, true, 2, {2, 12, 14}, 1},
        ForwardCase{"shard4_dp2_ssp2", true, 2, 1, 1, true, 4, {1, 12, 14}, 2},
        ForwardCase{"plain_wan_ulysses4", false, 1, 4, 1, false, 4, {2, 6, 10}, 1},
        ForwardCase{"plain_wan_dp2", false, 1, 1, 1, false, 2, {1, 4, 6}, 2}),
    [](const auto& info) { return std::string(info.param.name); });

// "Communication volume": per sparse block, SSP moves the hidden state once (one all-to-all) where Ulysses moves q,
// k, v and the output (four all-to-alls of the same size): 25% of the bytes. Grid 8 × 8 at P = 2
// with 4 ranks: no padding and equal tiles, so the ratio is exact.
TEST(CommCounters, SspIsOneCollectiveAndAQuarterOfUlyssesBytesPerSparseBlock) {
  const DiTConfig c = sparse_config();
  const auto in = osp::test::random_inputs(c, 1, 2, 16, 16, 5, 47);
  const auto run = [&](int ssp, int sp) {
    std::vector<par::CommCount> per_block;
    int64_t enter = 0, leave = 0;
    run_ranks(4, [&](par::World& world) {
      auto model = tiny_model(c);
      par::ParallelOptions options;
      options.ssp = ssp;
      options.sp = sp;
      par::DistributedDiT dist(world, *model, options);
      c10::InferenceMode guard;
      dist.forward(in.x, in.t, in.context);
      if (world.rank() == 1) {
        per_block = world.counters().per_block();
        enter = world.counters().at(par::CommSite::kEnter).collectives;
        leave = world.counters().at(par::CommSite::kLeave).collectives;
      }
    });
    per_block.resize(c.num_layers);
    return std::make_tuple(per_block, enter, leave);
  };
  const auto [ssp, ssp_enter, ssp_leave] = run(4, 1);
  const auto [ulysses, ulysses_enter, ulysses_leave] = run(1, 4);
  EXPECT_EQ(ssp_enter, 1);  // "Entering the sparse region" gather of the full-block shards
  EXPECT_EQ(ssp_leave, 1);  // "Leaving the sparse region" gather of the sub-sequences
  // Blocks 0, 1, 6, 7 full (4 all-to-alls each, both meshes); 2 token (entry), 3–5 switch.
  for (int n : {0, 1, 6, 7}) {
    EXPECT_EQ(ssp[n].collectives, 4) << n;
    EXPECT_EQ(ulysses[n].collectives, 4) << n;
  }
  EXPECT_EQ(ssp[2].collectives, 0);  // the first sparse block's input is the entry gather
  for (int n : {3, 4, 5}) {
    EXPECT_EQ(ssp[n].collectives, 1) << "SSP block " << n;
    EXPECT_EQ(ulysses[n].collectives, 4) << "Ulysses block " << n;
    EXPECT_GT(ssp[n].bytes_sent, 0);
    EXPECT_EQ(4 * ssp[n].bytes_sent, ulysses[n].bytes_sent) << n;
    EXPECT_EQ(4 * ssp[n].bytes_off_rank, ulysses[n].bytes_off_rank) << n;
  }
}

TEST(World, ACollectiveWithAMissingPeerTimesOutWithAnError) {
  auto rendezvous = par::World::in_process_rendezvous();
  // Rank 1 never joins: rank 0's group creation must fail within the timeout, not hang.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(par::World::join(rendezvous, 0, 2, std::chrono::milliseconds(1500)), osp::Error);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

}  // namespace
