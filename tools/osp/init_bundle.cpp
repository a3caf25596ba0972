// osp init-bundle: writes a tiny text-to-video model bundle (pipeline/tiny_bundle.h) that
// `osp generate --model DIR` runs without any download: random weights for smoke tests, or, with
// --captions shapes and trained --dit / --vae checkpoints of `osp train`, the shipped
// osp-next-tiny (shapes/bundle.h).
#include <memory>

#include "commands.h"
#include "osp/core/log.h"
#include "osp/core/timer.h"
#include <filesystem>

#include "osp/core/error.h"
#include "osp/pipeline/release_presets.h"
#include "osp/pipeline/tiny_bundle.h"
#include "osp/shapes/bundle.h"

namespace osp::cli {

namespace {

struct InitBundleOptions {
  std::string out;
  uint64_t seed = 0;
  bool force = false;
  std::string captions = "tiny";
  std::string dit, vae;             // checkpoint folders of `osp train`
  std::string dit_weights = "ema";  // ema | model
  std::string preset;               // a full-size release layout (pipeline/release_presets.h)
  int64_t layers = 0;               // --preset: DiT blocks (0: the preset's)
};

// A checkpoint folder of `osp train` (train_checkpoint.h) as a trained component.
pipeline::TrainedComponent checkpoint_component(const std::string& folder, const std::string& weights,
                                                const std::string& flag) {
  namespace fs = std::filesystem;
  const fs::path dir(folder);
  const fs::path file = dir / (weights + ".safetensors"), config = dir / "config.json";
  if (!fs::is_regular_file(file) || !fs::is_regular_file(config)) {
    fail_about(flag, "{} is not a checkpoint folder of `osp train` (no {} or config.json)", folder, file.filename().string());
  }
  return {file.string(), config.string()};
}

void log_files(const std::vector<pipeline::WrittenFile>& files, int64_t* total) {
  for (const auto& file : files) {
    const bool large = file.bytes >= (int64_t{64} << 20);  // a release preset's gigabytes in MiB, a tiny bundle in KiB
    log::info("  {:<48} {:>12.1f} {}", file.path, file.bytes / (large ? 1024.0 * 1024.0 : 1024.0), large ? "MiB" : "KiB");
    *total += file.bytes;
  }
}

void run_release_preset(const InitBundleOptions& o) {
  StageTimer timer("init-bundle");
  pipeline::ReleasePresetOptions options;
  options.preset = o.preset;
  options.seed = o.seed;
  options.overwrite = o.force;
  options.dit_layers = o.layers;
  const auto files = pipeline::write_release_preset(o.out, options);
  int64_t total = 0;
  log_files(files, &total);
  timer.done();
  log::info("wrote the {} release layout with random weights to {} ({:.2f} GiB). Try: osp generate --model {} -W 128 "
            "-H 128 --frames 5 --steps 2 --offload blocks -p \"a cat\" -o out.mp4",
            o.preset, o.out, total / (1024.0 * 1024.0 * 1024.0), o.out);
}

void run_init_bundle(const InitBundleOptions& o) {
  if (!o.preset.empty()) return run_release_preset(o);
  StageTimer timer("init-bundle");
  pipeline::RandomBundleSpec spec = o.captions == "shapes" ? shapes::shapes_bundle_spec() : pipeline::tiny_bundle_spec();
  if (!o.dit.empty()) spec.trained_dit = checkpoint_component(o.dit, o.dit_weights, "--dit");
  if (!o.vae.empty()) spec.trained_vae = checkpoint_component(o.vae, "model", "--vae");
  const auto files = pipeline::write_random_bundle(o.out, spec, {o.seed, o.force});
  int64_t total = 0;
  log_files(files, &total);
  timer.done();
  const bool trained = spec.trained_dit && spec.trained_vae;
  log::info("wrote a tiny {} bundle to {} ({} files, {:.2f} MiB, seed {}){}. Try: osp generate --model {} -p \"a red "
            "circle moving left on a black background\" -o out.mp4",
            trained ? "trained" : "random-weights", o.out, files.size(), total / (1024.0 * 1024.0), o.seed,
            trained ? "" : "; its random parts make noise-like patterns", o.out);
}

}  // namespace

void register_init_bundle(CLI::App& app, const GlobalOptions& global) {
  auto options = std::make_shared<InitBundleOptions>();
  CLI::App* cmd = app.add_subcommand(
      "init-bundle", "Write a tiny random-weights model bundle (DiT, umT5, tokenizer, VAE) for smoke tests");
  cmd->add_option("--out", options->out, "bundle directory to create (must be empty or missing)")->required();
  cmd->add_option("--seed", options->seed, "seed of the random weights (same seed, same bytes)")->capture_default_str();
  cmd->add_flag("--force", options->force, "write into a non-empty directory, replacing the bundle's files");
  cmd->add_option("--captions", options->captions,
                  "tokenizer and text length: tiny (built-in caption corpus) or shapes (the Shapes grammar, text_len 32)")
      ->check(CLI::IsMember({"tiny", "shapes"}))
      ->capture_default_str();
  auto* dit = cmd->add_option("--dit", options->dit, "use this `osp train` checkpoint folder's DiT instead of random weights");
  cmd->add_option("--dit-weights", options->dit_weights, "which weights of the DiT checkpoint: ema or model")
      ->check(CLI::IsMember({"ema", "model"}))
      ->capture_default_str();
  auto* vae = cmd->add_option("--vae", options->vae, "use this `osp train` checkpoint folder's VAE instead of random weights");
  auto* preset = cmd->add_option("--preset", options->preset,
                                 "instead: a full-size model with random weights in its released layout, written one "
                                 "tensor at a time: wan-1.3b, wan-14b or osp-next-14b (docs/memory.md)");
  cmd->add_option("--layers", options->layers, "with --preset: DiT blocks (0: the preset's depth)")
      ->needs(preset)
      ->check(CLI::NonNegativeNumber);
  preset->excludes(vae)->excludes(dit);
  cmd->callback([options, &global] {
    apply_global_options(global);
    run_init_bundle(*options);
  });
}

}  // namespace osp::cli
