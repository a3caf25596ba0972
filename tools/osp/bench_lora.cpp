// osp bench lora: runtime LoRA cost per DiT step against the merged model (src/osp/bench/lora_bench.h).
#include "commands.h"
#include "osp/bench/lora_bench.h"

namespace osp::cli {

void register_lora_bench(CLI::App& bench, const GlobalOptions& global) {
  auto o = std::make_shared<bench::LoraBenchOptions>();
  CLI::App* cmd = bench.add_subcommand("lora", "DiT forward with 0, 1 and 4 runtime LoRAs vs the merged model");
  cmd->add_option("--precision", o->precision, "bf16 or fp32")->capture_default_str();
  cmd->add_option("--layers", o->layers, "DiT layers at the 1.3B width")->capture_default_str();
  cmd->add_option("--frames", o->latent_frames, "latent frames")->capture_default_str();
  cmd->add_option("--height", o->height, "video height in pixels (latent = /8)")->capture_default_str();
  cmd->add_option("--width", o->width, "video width in pixels (latent = /8)")->capture_default_str();
  cmd->add_option("--rank", o->rank, "LoRA rank")->capture_default_str();
  cmd->add_option("--reps", o->reps, "timed forwards per case after one warm-up (the fastest counts)")->capture_default_str();
  cmd->callback([o, &global] {
    apply_global_options(global);
    bench::run_lora_bench(*o);
  });
}

}  // namespace osp::cli
