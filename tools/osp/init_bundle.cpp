// osp init-bundle: writes a tiny random-weights text-to-video model bundle (pipeline/tiny_bundle.h)
// that `osp generate --model DIR` runs without any download: smoke tests and the README's first
// command until a trained tiny model ships.
#include <memory>

#include "commands.h"
#include "osp/core/log.h"
#include "osp/core/timer.h"
#include "osp/pipeline/tiny_bundle.h"

namespace osp::cli {

namespace {

struct InitBundleOptions {
  std::string out;
  uint64_t seed = 0;
  bool force = false;
};

void run_init_bundle(const InitBundleOptions& o) {
  StageTimer timer("init-bundle");
  const auto files = pipeline::write_tiny_bundle(o.out, {o.seed, o.force});
  int64_t total = 0;
  for (const auto& file : files) {
    log::info("  {:<48} {:>9.1f} KiB", file.path, file.bytes / 1024.0);
    total += file.bytes;
  }
  timer.done();
  log::info("wrote a tiny random-weights bundle to {} ({} files, {:.2f} MiB, seed {}); its videos are noise-like "
            "patterns. Try: osp generate --model {} -p \"a red circle moving left\" -o out.mp4",
            o.out, files.size(), total / (1024.0 * 1024.0), o.seed, o.out);
}

}  // namespace

void register_init_bundle(CLI::App& app, const GlobalOptions& global) {
  auto options = std::make_shared<InitBundleOptions>();
  CLI::App* cmd = app.add_subcommand(
      "init-bundle", "Write a tiny random-weights model bundle (DiT, umT5, tokenizer, VAE) for smoke tests");
  cmd->add_option("--out", options->out, "bundle directory to create (must be empty or missing)")->required();
  cmd->add_option("--seed", options->seed, "seed of the random weights (same seed, same bytes)")->capture_default_str();
  cmd->add_flag("--force", options->force, "write into a non-empty directory, replacing the bundle's files");
  cmd->callback([options, &global] {
    apply_global_options(global);
    run_init_bundle(*options);
  });
}

}  // namespace osp::cli
