// osp bench offload: resident DiT weights against block streaming (src/osp/bench/offload_bench.h).
#include "commands.h"
#include "osp/bench/offload_bench.h"

namespace osp::cli {

void register_offload_bench(CLI::App& bench, const GlobalOptions& global) {
  auto o = std::make_shared<bench::OffloadBenchOptions>();
  CLI::App* cmd = bench.add_subcommand(
      "offload", "DiT forward with resident weights vs blocks streamed from disk: time, peak RSS, bytes and rate read");
  cmd->add_option("--layers", o->layers, "DiT layers at the 1.3B width")->capture_default_str();
  cmd->add_option("--frames", o->latent_frames, "latent frames")->capture_default_str();
  cmd->add_option("--height", o->height, "video height in pixels (latent = /8)")->capture_default_str();
  cmd->add_option("--width", o->width, "video width in pixels (latent = /8)")->capture_default_str();
  cmd->add_option("--reps", o->reps, "timed forwards per row (after one warm-up)")->capture_default_str();
  cmd->add_option("--dir", o->dir, "where the random bf16 checkpoint is kept (written once)")->capture_default_str();
  cmd->callback([o, &global] {
    apply_global_options(global);
    bench::run_offload_bench(*o);
  });
}

}  // namespace osp::cli
