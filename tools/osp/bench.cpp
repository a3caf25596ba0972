// osp bench: speed and memory figures printed as tables (figure, same-run baseline, ratio).
// Benchmarks never run inside the test suite; tests never assert times.
#include "commands.h"
#include "osp/bench/dit_bench.h"

namespace osp::cli {

void register_bench(CLI::App& app, const GlobalOptions& global) {
  CLI::App* bench = app.add_subcommand("bench", "Benchmarks (tables with same-run baselines)");
  bench->require_subcommand(1);

  auto dit = std::make_shared<bench::DitBenchOptions>();
  CLI::App* cmd = bench->add_subcommand("dit", "DiT forward time and FLOP rate against the same-run GEMM rate");
  cmd->add_option("--precision", dit->precisions, "precisions to run (bf16, fp32)")->capture_default_str();
  cmd->add_option("--layers", dit->layers, "DiT layers at the 1.3B width")->capture_default_str();
  cmd->add_option("--frames", dit->latent_frames, "latent frames")->capture_default_str();
  cmd->add_option("--height", dit->height, "video height in pixels (latent = /8)")->capture_default_str();
  cmd->add_option("--width", dit->width, "video width in pixels (latent = /8)")->capture_default_str();
  cmd->add_option("--reps", dit->reps, "timed forwards per precision (after one warm-up)")->capture_default_str();
  cmd->add_flag("--load", dit->load, "also: write a random full-size 1.3B fp32 checkpoint once, load it as bf16, "
                                     "report load time and peak RSS against the file size");
  cmd->add_flag("--load-only", dit->load_only, "only the --load measurement");
  cmd->add_option("--load-dir", dit->load_dir, "where the random 1.3B checkpoint is kept")->capture_default_str();
  cmd->callback([dit, &global] {
    apply_global_options(global);
    bench::run_dit_bench(*dit);
  });
}

}  // namespace osp::cli
