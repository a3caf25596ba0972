#pragma once
// One registration function per subcommand file; main.cpp calls each. A subcommand parses its
// flags, builds what it needs from src/osp and nothing more: logic lives in the library.
#include <CLI/CLI.hpp>

namespace osp::cli {

// Flags shared by every subcommand, applied before the subcommand runs.
struct GlobalOptions {
  int threads = 0;  // 0: all cores
  std::string log_level = "info";
};

void register_info(CLI::App& app, const GlobalOptions& global);
void register_convert(CLI::App& app, const GlobalOptions& global);
void register_dit_forward(CLI::App& app, const GlobalOptions& global);
void register_bench(CLI::App& app, const GlobalOptions& global);
void register_text_encode(CLI::App& app, const GlobalOptions& global);  // text_encode.cpp
void register_vae(CLI::App& app, const GlobalOptions& global);          // vae.cpp: vae-encode, vae-decode
void register_quantize(CLI::App& app, const GlobalOptions& global);     // quantize.cpp
void register_generate(CLI::App& app, const GlobalOptions& global);     // generate.cpp
void register_init_bundle(CLI::App& app, const GlobalOptions& global);  // init_bundle.cpp
void register_data(CLI::App& app, const GlobalOptions& global);         // data.cpp: data shapes, data cache
void register_train(CLI::App& app, const GlobalOptions& global);  // train.cpp
void register_eval(CLI::App& app, const GlobalOptions& global);   // eval.cpp: eval shapes, eval vae, eval prompts
void register_lora(CLI::App& app, const GlobalOptions& global);   // lora.cpp: merge-lora, lora extract
void register_rl(CLI::App& app, const GlobalOptions& global);     // rl.cpp
void register_serve(CLI::App& app, const GlobalOptions& global);  // serve.cpp
void register_plan(CLI::App& app, const GlobalOptions& global);   // plan.cpp: plan train

// `osp bench <name>` subcommands, each in bench_<name>.cpp; `bench` is the parent command.
void register_text_bench(CLI::App& bench, const GlobalOptions& global);
void register_vae_bench(CLI::App& bench, const GlobalOptions& global);
void register_hif8_bench(CLI::App& bench, const GlobalOptions& global);
void register_comm_bench(CLI::App& bench, const GlobalOptions& global);
void register_generate_bench(CLI::App& bench, const GlobalOptions& global);
void register_train_bench(CLI::App& bench, const GlobalOptions& global);  // bench_train.cpp
void register_lora_bench(CLI::App& bench, const GlobalOptions& global);   // bench_lora.cpp
void register_rl_bench(CLI::App& bench, const GlobalOptions& global);     // bench_rl.cpp
void register_serve_bench(CLI::App& bench, const GlobalOptions& global);  // bench_serve.cpp
void register_offload_bench(CLI::App& bench, const GlobalOptions& global);  // bench_offload.cpp

// Applies --threads and --log-level; each subcommand's callback calls it first.
void apply_global_options(const GlobalOptions& global);

}  // namespace osp::cli
