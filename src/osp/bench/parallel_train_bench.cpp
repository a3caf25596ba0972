#include "osp/bench/parallel_train_bench.h"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>

#include "osp/bench/train_bench.h"
#include "osp/core/error.h"
#include "osp/core/runtime.h"
#include "osp/core/text_table.h"
#include "osp/parallel/fully_sharded.h"
#include "osp/train/trainer.h"

namespace osp::bench {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

struct Case {
  std::string name;
  train::TrainConfig config;
};

// What one rank measured for one case.
struct RankFigures {
  double peak_rss = 0, step_s = 0, strategy_bytes = 0, sequence_bytes = 0, expected_bytes = 0;
};

bool sequence_parallel_site(parallel::CommSite site) {
  using parallel::CommSite;
  return site == CommSite::kFullBlock || site == CommSite::kSparseBlock || site == CommSite::kEnter ||
         site == CommSite::kLeave || site == CommSite::kOutput;
}

// Bytes per step the strategy should send off-rank: replicated, the all-reduce of every trained
// float32 value (2 (N−1)/N of the buffer, as ring all-reduce); fully sharded, two gathers and one
// reduce-scatter of every block's float32 values (N−1)/N each (bf16 gathers move less).
double expected_strategy_bytes(const train::Trainer& trainer, int ranks) {
  const double share = (ranks - 1.0) / ranks;
  if (const auto* sharded = dynamic_cast<const parallel::FullySharded*>(&trainer.strategy())) {
    return 3.0 * static_cast<double>(sharded->model_bytes()) * share;
  }
  double bytes = 0;
  for (const auto& [name, t] : trainer.strategy().owned()) bytes += t.requires_grad() ? 4.0 * t.numel() : 0.0;
  return 2.0 * bytes * share;
}

RankFigures measure(parallel::World& world, const train::TrainConfig& config, int steps) {
  world.global().barrier();
  reset_peak_rss();
  RankFigures f;
  {
    train::Trainer trainer(config, train::make_objective(config), world);
    trainer.step();  // warm-up
    world.counters().reset();
    const auto start = std::chrono::steady_clock::now();
    for (int s = 0; s < steps; ++s) trainer.step();
    f.step_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / steps;
    for (int s = 0; s < parallel::kCommSites; ++s) {
      const auto site = static_cast<parallel::CommSite>(s);
      const double bytes = static_cast<double>(world.counters().at(site).bytes_off_rank) / steps;
      (sequence_parallel_site(site) ? f.sequence_bytes : f.strategy_bytes) += bytes;
    }
    f.expected_bytes = expected_strategy_bytes(trainer, world.size());
  }
  f.peak_rss = static_cast<double>(peak_rss_bytes());
  return f;
}

std::vector<RankFigures> gather(parallel::World& world, const RankFigures& mine) {
  at::Tensor t = at::tensor({mine.peak_rss, mine.step_s, mine.strategy_bytes, mine.sequence_bytes, mine.expected_bytes},
                            at::kDouble);
  const at::Tensor all = world.global().all_gather(t, 0).view({world.size(), 5});
  std::vector<RankFigures> out;
  for (int r = 0; r < world.size(); ++r) {
    const auto row = all[r];
    out.push_back({row[0].item<double>(), row[1].item<double>(), row[2].item<double>(), row[3].item<double>(),
                   row[4].item<double>()});
  }
  return out;
}

}  // namespace

void run_parallel_train_bench(parallel::World& world, const ParallelTrainBenchOptions& o) {
  require(o.steps >= 1, "--steps must be at least 1, got {}", o.steps);
  require(o.shard == "full" || o.shard == "none", "--shard must be full or none, got '{}'", o.shard);
  require(o.frames >= 1 && (o.frames - 1) % 4 == 0, "--frames must be 4k+1, got {}", o.frames);
  require(o.size >= 16 && o.size % 16 == 0, "--wide-size must be a positive multiple of 16, got {}", o.size);
  const auto make = [&](bool full, bool checkpointing) {
    train::TrainConfig c = train_bench_config(o.config, o.precision, o.frames, o.size, o.steps, o.layers);
    c.shard = full ? train::Sharding::kFull : train::Sharding::kNone;
    c.activation_checkpointing = checkpointing || full;
    c.sp = o.sp;
    c.ssp = o.ssp;
    c.output_dir += fmt::format("_rank{}", world.rank());  // nothing is saved; one folder per rank
    return c;
  };
  std::vector<Case> cases{{"replicated", make(false, false)}};
  if (o.shard == "full" || o.checkpointing) {
    cases.push_back({o.shard == "full" ? "fully sharded" : "replicated, checkpointed", make(o.shard == "full", o.checkpointing)});
  }
  const int sequence = o.sp * o.ssp;
  const int dp = world.size() / std::max(1, sequence);
  if (world.rank() == 0) {
    fmt::print("osp bench train: {} ranks (mesh dp {} × skiparse_sp {} × sp {}), {} ({} parameters), {} frames at {}², "
               "{}, batch 1 per data-parallel group, {} timed steps after one warm-up; MiB are per rank and step\n",
               world.size(), dp, o.ssp, o.sp, o.config, fmt::format("{:.1f} M", cases[0].config.model.parameter_count() / 1e6),
               o.frames, o.size, o.precision, o.steps);
  }
  TextTable table({"strategy", "peak RSS per rank (MiB)", "samples/s", "strategy MiB sent", "expected", "ratio",
               "sequence-parallel MiB sent"});
  double baseline_rss = 0;
  for (const Case& c : cases) {
    const std::vector<RankFigures> all = gather(world, measure(world, c.config, o.steps));
    double rss = 0, step = 0, strategy = 0, sequence_bytes = 0, expected = 0;
    for (const RankFigures& f : all) {
      rss = std::max(rss, f.peak_rss);
      step = std::max(step, f.step_s);
      strategy = std::max(strategy, f.strategy_bytes);
      sequence_bytes = std::max(sequence_bytes, f.sequence_bytes);
      expected = std::max(expected, f.expected_bytes);
    }
    if (baseline_rss == 0) baseline_rss = rss;
    table.add_row({c.name, fmt::format("{:.0f} ({:.2f}×)", rss / kMiB, rss / baseline_rss),
                   fmt::format("{:.2f}", dp / step), fmt::format("{:.1f}", strategy / kMiB),
                   fmt::format("{:.1f}", expected / kMiB), fmt::format("{:.2f}", expected > 0 ? strategy / expected : 0.0),
                   fmt::format("{:.1f}", sequence_bytes / kMiB)});
  }
  if (world.rank() == 0) table.print();
}

}  // namespace osp::bench
