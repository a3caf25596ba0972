// osp bench train: DiT training samples/s and peak RSS (src/osp/bench/train_bench.h).
#include "commands.h"
#include "osp/bench/train_bench.h"

namespace osp::cli {

void register_train_bench(CLI::App& bench, const GlobalOptions& global) {
  auto o = std::make_shared<bench::TrainBenchOptions>();
  CLI::App* cmd = bench.add_subcommand("train", "DiT training step: samples/s and peak RSS vs the inference forward");
  cmd->add_option("--precision", o->precisions, "precisions to run (bf16, fp32)")->capture_default_str();
  cmd->add_option("--config", o->configs, "cases: tiny, 1.3b-2layer")->capture_default_str();
  cmd->add_option("--frames", o->frames, "video frames (4k+1)")->capture_default_str();
  cmd->add_option("--tiny-size", o->tiny_size, "square video size of the tiny case")->capture_default_str();
  cmd->add_option("--wide-size", o->wide_size, "square video size of the 1.3B-width case")->capture_default_str();
  cmd->add_option("--steps", o->steps, "timed optimizer steps per case (after one warm-up)")->capture_default_str();
  cmd->callback([o, &global] {
    apply_global_options(global);
    bench::run_train_bench(*o);
  });
}

}  // namespace osp::cli
