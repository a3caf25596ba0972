// osp bench generate: the text-to-video pipeline's stage times, peak RSS and the saving of the
// cross-attention key/value cache (src/osp/bench/generate_bench.h).
#include "commands.h"
#include "osp/bench/generate_bench.h"

namespace osp::cli {

void register_generate_bench(CLI::App& bench, const GlobalOptions& global) {
  auto o = std::make_shared<bench::GenerateBenchOptions>();
  CLI::App* cmd = bench.add_subcommand("generate", "Text-to-video stage times, peak RSS and the K/V-cache saving");
  cmd->add_option("--frames", o->frames, "frames per video (4k+1)")->capture_default_str();
  cmd->add_option("--tiny-steps", o->tiny_steps, "steps of the tiny case (0: the bundle's default)")
      ->capture_default_str();
  cmd->add_option("--wide-steps", o->wide_steps, "steps of the 1.3B-width case")->capture_default_str();
  cmd->add_option("--wide-layers", o->wide_layers, "DiT blocks of the 1.3B-width case")->capture_default_str();
  cmd->add_option("--wide-width", o->wide_width, "video width of the 1.3B-width case")->capture_default_str();
  cmd->add_option("--wide-height", o->wide_height, "video height of the 1.3B-width case")->capture_default_str();
  cmd->add_flag("!--no-wide", o->wide, "run the tiny bundle only");
  cmd->add_option("--precision", o->precision, "bf16 or fp32")->capture_default_str();
  cmd->add_option("--work-dir", o->work_dir, "keep the bundles and videos here (default: a temporary directory)");
  cmd->callback([o, &global] {
    apply_global_options(global);
    bench::run_generate_bench(*o);
  });
}

}  // namespace osp::cli
