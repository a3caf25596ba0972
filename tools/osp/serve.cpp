// osp serve --model DIR [--host 127.0.0.1] [--port 8080] [--output-dir DIR] [--queue N]
// [--api-key-file FILE] [--lora-dir DIR] [--sp N] [--ssp S] [--cfg-parallel] [--shard-weights]: the
// video generation server (src/osp/serve, docs/serve.md); under a launcher rank 0 serves and every
// rank generates.
#include "commands.h"
#include "parallel_flags.h"
#include "osp/serve/serve.h"

namespace osp::cli {

void register_serve(CLI::App& app, const GlobalOptions& global) {
  auto o = std::make_shared<serve::ServeOptions>();
  auto key_file = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("serve", "Serve text-to-video over HTTP: a job queue on one loaded model");
  cmd->add_option("--model", o->model, "model bundle or release folder (loaded once)")->required();
  cmd->add_option("--host", o->http.host, "address to listen on")->capture_default_str();
  cmd->add_option("--port", o->http.port, "port (0: any free port)")->capture_default_str()->check(CLI::Range(0, 65535));
  cmd->add_option("--output-dir", o->output_dir, "where finished videos are written")->capture_default_str();
  cmd->add_option("--queue", o->queue, "jobs that may wait (a full queue answers 429)")->capture_default_str();
  cmd->add_option("--api-key-file", *key_file, "file whose first line is the key /v1 requests must send as a Bearer token");
  cmd->add_option("--cors-origin", o->http.cors_origin,
                  "let web pages of this origin (e.g. https://example.org) call the API; off by default");
  cmd->add_option("--lora-dir", o->http.limits.lora_dir,
                  "folder of LoRA files (<name>.safetensors) that requests may name in \"loras\"")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--keep", o->retention.keep, "finished jobs kept, newest first (0: all)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  auto hours = std::make_shared<double>(0);
  cmd->add_option("--keep-hours", *hours, "finished jobs kept this many hours after submission (0: forever)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--precision", o->precision, "bf16 or fp32")->capture_default_str();
  cmd->add_flag("--finish-on-exit", o->finish_on_exit, "on SIGTERM/SIGINT let the running job finish");
  add_parallel_flags(*cmd, o->parallel);
  cmd->callback([o, key_file, hours, &global] {
    apply_global_options(global);
    o->retention.max_age_s = *hours * 3600.0;
    o->threads = global.threads;
    if (!key_file->empty()) o->http.api_key = serve::read_api_key(*key_file);
    serve::serve(*o);
  });
}

}  // namespace osp::cli
