// osp bench train: DiT training samples/s and peak RSS (src/osp/bench/train_bench.h); with --ranks,
// the training strategies side by side on that many processes (src/osp/bench/parallel_train_bench.h).
// Started alone with --ranks N it starts N copies of itself on this machine (Gloo over loopback).

#include "commands.h"
#include "osp/bench/parallel_train_bench.h"
#include "osp/bench/train_bench.h"
#include "osp/core/error.h"
#include "osp/parallel/join_launcher.h"
#include "osp/parallel/launch_env.h"
#include "osp/parallel/spawn.h"

namespace osp::cli {

namespace {

struct TrainBenchFlags {
  bench::TrainBenchOptions single;
  bench::ParallelTrainBenchOptions parallel;
  int ranks = 1;
};

// The same command for each spawned rank.
std::vector<std::string> rank_args(const TrainBenchFlags& f, const GlobalOptions& global) {
  const auto& p = f.parallel;
  std::vector<std::string> args{"--log-level", global.log_level, "bench", "train", "--ranks", std::to_string(f.ranks),
                                "--shard", p.shard, "--sp", std::to_string(p.sp), "--ssp", std::to_string(p.ssp),
                                "--config", p.config, "--layers", std::to_string(p.layers),
                                "--precision", p.precision, "--frames", std::to_string(p.frames),
                                "--tiny-size", std::to_string(f.single.tiny_size),
                                "--wide-size", std::to_string(f.single.wide_size), "--steps", std::to_string(p.steps)};
  if (p.checkpointing) args.push_back("--checkpointing");
  if (global.threads > 0) args.insert(args.begin(), {"--threads", std::to_string(global.threads)});
  return args;
}

void run_parallel(TrainBenchFlags f, const GlobalOptions& global) {
  const parallel::LaunchEnv env = parallel::read_launch_env();
  if (!env.distributed()) {
    require(f.ranks > 1, "--ranks must be at least 2 for the strategies, got {}", f.ranks);
    const int failed = parallel::spawn_local_ranks(f.ranks, rank_args(f, global));
    if (failed > 0) fail("osp bench train: {} of {} ranks failed", failed, f.ranks);
    return;
  }
  const std::unique_ptr<parallel::World> world = parallel::join_launcher(global.threads);
  bench::run_parallel_train_bench(*world, f.parallel);
}

}  // namespace

void register_train_bench(CLI::App& bench, const GlobalOptions& global) {
  auto f = std::make_shared<TrainBenchFlags>();
  CLI::App* cmd = bench.add_subcommand(
      "train", "DiT training step: samples/s and peak RSS vs the inference forward; with --ranks, the training "
               "strategies side by side (peak RSS per rank, samples/s, bytes per step)");
  cmd->add_option("--precision", f->single.precisions, "precisions to run (bf16, fp32; --ranks: the first)")
      ->capture_default_str();
  cmd->add_option("--config", f->single.configs, "cases: tiny, 1.3b-2layer (--ranks: the first)")->capture_default_str();
  cmd->add_option("--frames", f->single.frames, "video frames (4k+1)")->capture_default_str();
  cmd->add_option("--tiny-size", f->single.tiny_size, "square video size of the tiny case")->capture_default_str();
  cmd->add_option("--wide-size", f->single.wide_size, "square video size of the 1.3B-width case")->capture_default_str();
  cmd->add_option("--steps", f->single.steps, "timed optimizer steps per case (after one warm-up)")->capture_default_str();
  cmd->add_option("--ranks", f->ranks, "processes: compare the training strategies on this many ranks")->capture_default_str();
  cmd->add_option("--shard", f->parallel.shard, "--ranks: the strategy beside replicated data parallel (full | none)")
      ->capture_default_str();
  cmd->add_option("--sp", f->parallel.sp, "--ranks: Ulysses degree")->capture_default_str();
  cmd->add_option("--ssp", f->parallel.ssp, "--ranks: skiparse_sp")->capture_default_str();
  cmd->add_flag("--checkpointing", f->parallel.checkpointing, "--ranks: activation checkpointing");
  cmd->add_option("--layers", f->parallel.layers, "--ranks: blocks of the 1.3B-width case")->capture_default_str();
  cmd->callback([f, &global] {
    apply_global_options(global);
    if (f->ranks <= 1 && !parallel::read_launch_env().distributed()) {
      bench::run_train_bench(f->single);
      return;
    }
    TrainBenchFlags flags = *f;
    flags.parallel.config = f->single.configs.front();
    flags.parallel.precision = f->single.precisions.front();
    flags.parallel.frames = f->single.frames;
    flags.parallel.size = flags.parallel.config == "tiny" ? f->single.tiny_size : f->single.wide_size;
    flags.parallel.steps = f->single.steps;
    run_parallel(flags, global);
  });
}

}  // namespace osp::cli
