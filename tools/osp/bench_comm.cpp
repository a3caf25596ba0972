// osp bench comm: SSP vs Ulysses communication per block and weight-sharding memory.
// Under a launcher every rank runs it; started alone it starts --ranks copies of itself on this
// machine with the torchrun variables (Gloo over loopback).

#include "commands.h"
#include "osp/bench/comm_bench.h"
#include "osp/core/error.h"
#include "osp/parallel/join_launcher.h"
#include "osp/parallel/launch_env.h"
#include "osp/parallel/spawn.h"

namespace osp::cli {

namespace {

struct CommBenchFlags {
  bench::CommBenchOptions options;
  int ranks = 4;
  bool no_memory = false;
};

void run_comm_bench(const CommBenchFlags& flags, const GlobalOptions& global) {
  const parallel::LaunchEnv env = parallel::read_launch_env();
  if (!env.distributed()) {
    require(flags.ranks > 1, "--ranks must be at least 2, got {}", flags.ranks);
    std::vector<std::string> args{"--log-level", global.log_level, "bench", "comm",
                                  "--reps", std::to_string(flags.options.reps),
                                  "--frames", std::to_string(flags.options.grid[0]),
                                  "--rows", std::to_string(flags.options.grid[1]),
                                  "--cols", std::to_string(flags.options.grid[2])};
    if (flags.no_memory) args.push_back("--no-memory");
    if (global.threads > 0) args.insert(args.begin(), {"--threads", std::to_string(global.threads)});
    const int failed = parallel::spawn_local_ranks(flags.ranks, args);
    if (failed > 0) fail("osp bench comm: {} of {} ranks failed", failed, flags.ranks);
    return;
  }
  const std::unique_ptr<parallel::World> world = parallel::join_launcher(global.threads);
  bench::CommBenchOptions options = flags.options;
  options.memory = !flags.no_memory;
  bench::run_comm_bench(*world, options);
}

}  // namespace

void register_comm_bench(CLI::App& bench, const GlobalOptions& global) {
  auto flags = std::make_shared<CommBenchFlags>();
  CLI::App* cmd = bench.add_subcommand("comm", "SSP vs Ulysses per-block communication; weight-sharding memory");
  cmd->add_option("--ranks", flags->ranks, "ranks to start when no launcher started this one")->capture_default_str();
  cmd->add_option("--reps", flags->options.reps, "timed runs per figure (after one warm-up)")->capture_default_str();
  cmd->add_option("--frames", flags->options.grid[0], "token grid frames")->capture_default_str();
  cmd->add_option("--rows", flags->options.grid[1], "token grid rows")->capture_default_str();
  cmd->add_option("--cols", flags->options.grid[2], "token grid columns")->capture_default_str();
  cmd->add_flag("--no-memory", flags->no_memory, "skip the weight-sharding RSS figures");
  cmd->callback([flags, &global] {
    apply_global_options(global);
    run_comm_bench(*flags, global);
  });
}

}  // namespace osp::cli
