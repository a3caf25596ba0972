// osp bench rl: one Mix-GRPO epoch against plain generation, the inference forward and LoRA SFT
// (src/osp/bench/rl_bench.h).
#include "commands.h"
#include "osp/bench/rl_bench.h"

namespace osp::cli {

void register_rl_bench(CLI::App& bench, const GlobalOptions& global) {
  auto o = std::make_shared<bench::RlBenchOptions>();
  CLI::App* cmd = bench.add_subcommand("rl", "RL epoch: rollout / reward / update and peak RSS vs generation and SFT");
  cmd->add_option("--config", o->configs, "cases: tiny, 1.3b-2layer")->capture_default_str();
  cmd->add_option("--layers", o->layers, "layers of the 1.3B-width case")->capture_default_str();
  cmd->add_option("--frames", o->frames, "video frames (4k+1)")->capture_default_str();
  cmd->add_option("--tiny-size", o->tiny_size, "square video size of the tiny case")->capture_default_str();
  cmd->add_option("--wide-size", o->wide_size, "square video size of the 1.3B-width case")->capture_default_str();
  cmd->add_option("--steps", o->steps, "sampling steps N")->capture_default_str();
  cmd->add_option("--sde-steps", o->sde_steps, "SDE (trained) steps K")->capture_default_str();
  cmd->add_option("--batch", o->batch, "videos per batch (= group size = micro-batch)")->capture_default_str();
  cmd->add_option("--precision", o->precision, "bf16 or fp32")->capture_default_str();
  cmd->callback([o, &global] {
    apply_global_options(global);
    bench::run_rl_bench(*o);
  });
}

}  // namespace osp::cli
