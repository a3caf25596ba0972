// osp bench hif8: HiF8 / FP8 codec throughput, the 8-bit-weight matmul against bf16 at the 1.3B FFN
// shape, and the DiT's resident weight memory with 8-bit weights (src/osp/bench/hif8_bench.h).
#include "commands.h"
#include "osp/bench/hif8_bench.h"
#include "osp/core/error.h"

namespace osp::cli {

void register_hif8_bench(CLI::App& bench, const GlobalOptions& global) {
  auto o = std::make_shared<bench::Hif8BenchOptions>();
  CLI::App* cmd = bench.add_subcommand("hif8", "HiF8/FP8 codec GB/s, 8-bit-weight matmul vs bf16, DiT weight memory");
  cmd->add_option("-m,--tokens", o->m, "rows of the activation (tokens)")->capture_default_str();
  cmd->add_option("-k,--in", o->k, "input features")->capture_default_str();
  cmd->add_option("-n,--out", o->n, "output features")->capture_default_str();
  cmd->add_option("--reps", o->reps, "timed runs per figure (after one warm-up)")->capture_default_str();
  cmd->add_option("--codec-elements", o->codec_elements, "values per codec run")->capture_default_str();
  cmd->add_option("--memory-model", o->memory_model, "DiT preset for the memory rows (\"\" to skip)")
      ->capture_default_str();
  cmd->callback([o, &global] {
    apply_global_options(global);
    require(o->m >= 1 && o->k >= 1 && o->n >= 1 && o->reps >= 1 && o->codec_elements >= 1,
            "--tokens, --in, --out, --reps and --codec-elements must be at least 1");
    bench::run_hif8_bench(*o);
  });
}

}  // namespace osp::cli
