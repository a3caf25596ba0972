// osp bench serve: a bounded load test of the server against back-to-back generation
// (src/osp/serve/serve_bench.h).
#include "commands.h"
#include "osp/serve/serve_bench.h"

namespace osp::cli {

void register_serve_bench(CLI::App& bench, const GlobalOptions& global) {
  auto o = std::make_shared<serve::ServeBenchOptions>();
  CLI::App* cmd = bench.add_subcommand("serve", "server load test: K clients, M jobs, latency, RSS, throughput");
  cmd->add_option("--model", o->model, "model bundle")->required();
  cmd->add_option("--clients", o->clients, "concurrent clients")->capture_default_str();
  cmd->add_option("--jobs", o->jobs, "jobs in all (every fourth invalid)")->capture_default_str();
  cmd->add_option("--frames", o->frames, "video frames (0: the model's default)")->capture_default_str();
  cmd->add_option("--steps", o->steps, "sampling steps (0: the model's default)")->capture_default_str();
  cmd->add_option("--queue", o->queue, "the server's queue length")->capture_default_str();
  cmd->add_option("--output-dir", o->output_dir, "scratch folder for the videos")->capture_default_str();
  cmd->callback([o, &global] {
    apply_global_options(global);
    serve::run_serve_bench(*o);
  });
}

}  // namespace osp::cli
