// osp bench text: umT5 encoder throughput (src/osp/bench/text_bench.h).
#include "commands.h"
#include "osp/bench/text_bench.h"

namespace osp::cli {

void register_text_bench(CLI::App& bench, const GlobalOptions& global) {
  auto o = std::make_shared<bench::TextBenchOptions>();
  CLI::App* cmd = bench.add_subcommand("text", "umT5 encoder time and FLOP rate against the same-run GEMM rate");
  cmd->add_option("--precision", o->precisions, "precisions to run (bf16, fp32)")->capture_default_str();
  cmd->add_option("--layers", o->layers, "encoder layers at the umt5-xxl width (of 24)")->capture_default_str();
  cmd->add_option("--batch", o->batch, "prompts per forward")->capture_default_str();
  cmd->add_option("--text-len", o->text_len, "tokens per prompt")->capture_default_str();
  cmd->add_option("--vocab", o->vocab, "embedding rows (256384 for the real table)")->capture_default_str();
  cmd->add_option("--reps", o->reps, "timed forwards per precision (after one warm-up)")->capture_default_str();
  cmd->callback([o, &global] {
    apply_global_options(global);
    bench::run_text_bench(*o);
  });
}

}  // namespace osp::cli
