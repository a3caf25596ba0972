// osp data: training data (docs/training-data.md).
//   osp data shapes: the synthetic Shapes text–video dataset (mp4 clips + JSONL manifest).
//   osp data cache:  VAE latents and text embeddings of a manifest, precomputed into safetensors shards.
#include "commands.h"
#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/core/timer.h"
#include "osp/train/data_cache.h"
#include "osp/shapes/dataset.h"

namespace osp::cli {

namespace {

struct ShapesFlags {
  shapes::ShapesDatasetOptions options;
  std::string split = "train";
};

void register_shapes(CLI::App& data, const GlobalOptions& global) {
  auto flags = std::make_shared<ShapesFlags>();
  auto& o = flags->options;
  CLI::App* cmd = data.add_subcommand("shapes", "Write the synthetic Shapes dataset (mp4 clips + manifest.jsonl)");
  cmd->add_option("--out", o.out, "output folder (videos/ and manifest.jsonl)")->required();
  cmd->add_option("--count", o.count, "number of clips")->required();
  cmd->add_option("--seed", o.seed, "dataset seed (same seed: same clips and manifest)")->required();
  cmd->add_option("--size", o.size, "frame side in pixels (multiple of 16)")->capture_default_str();
  cmd->add_option("--frames", o.frames, "frames per clip (4k + 1)")->capture_default_str();
  cmd->add_option("--fps", o.fps, "frame rate of the mp4 files")->capture_default_str();
  cmd->add_option("--split", flags->split,
                  "train (never a held-out combination), heldout (only those) or all")
      ->capture_default_str();
  cmd->callback([flags, &global] {
    apply_global_options(global);
    flags->options.split = shapes::split_from_name(flags->split);
    StageTimer timer("shapes dataset");
    const auto clips = shapes::write_shapes_dataset(flags->options);
    const double seconds = timer.done();
    log::info("wrote {} clips ({} split, {} px, {} frames) to {} ({:.1f} clips/s)", clips.size(), flags->split,
              flags->options.size, flags->options.frames, flags->options.out, clips.size() / std::max(seconds, 1e-9));
  });
}

void register_cache(CLI::App& data, const GlobalOptions& global) {
  auto o = std::make_shared<train::DataCacheOptions>();
  o->clip.aspect_ratios = train::default_aspect_ratios();
  CLI::App* cmd = data.add_subcommand("cache", "Precompute VAE latents and text embeddings of a manifest into "
                                               "safetensors shards plus a cached manifest");
  cmd->add_option("--manifest", o->manifest, "JSONL manifest of {\"video\", \"caption\"} lines")->required();
  cmd->add_option("--vae", o->vae, "Wan2.1_VAE.pth, a diffusers vae/ folder, or a folder holding either")->required();
  cmd->add_option("--vae-config", o->vae_config, "VAE config.json (default: beside the weights, else Wan 2.1)");
  cmd->add_option("--text-encoder", o->text_encoder, "umT5 weights (file or folder, as for text-encode)")->required();
  cmd->add_option("--text-config", o->text_config, "T5 config.json (default: beside the weights, else umt5-xxl)");
  cmd->add_option("--tokenizer", o->tokenizer, "folder with spiece.model (or the file)")->required();
  cmd->add_option("--out", o->out, "output folder: manifest.jsonl, shards/, null_context.safetensors, cache.json")
      ->required();
  cmd->add_option("--max-bad-fraction", o->max_bad_fraction,
                  "fail when more than this fraction of the samples is unreadable")
      ->capture_default_str();
  cmd->add_option("--size", o->clip.size, "bucket base: clips of about size x size pixels (multiple of 16)")
      ->capture_default_str();
  cmd->add_option("--frames", o->clip.frames, "frames per clip (4k + 1)")->capture_default_str();
  cmd->add_option("--fps", o->clip.fps, "resample videos to this frame rate (0: keep)")->capture_default_str();
  cmd->add_option("--buckets", o->clip.aspect_ratios, "bucket aspect ratios W:H (1:1 alone: every clip square)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--text-precision", o->text_precision, "text encoder precision: bf16 (official) or fp32")
      ->capture_default_str();
  cmd->add_option("--device", o->device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  cmd->add_option("--shard-samples", o->shard_samples, "samples per shard at most")->capture_default_str();
  cmd->add_option("--text-batch", o->text_batch, "captions per text-encoder forward")->capture_default_str();
  cmd->callback([o, &global] {
    apply_global_options(global);
    StageTimer timer("data cache");
    const train::DataCacheReport report = train::cache_dataset(*o);
    timer.done();
    for (const auto& [bucket, n] : report.buckets) log::info("bucket {}: {} samples", train::resolution_name(bucket), n);
    log::info("cached {} of {} samples in {} shards to {}; {} bad (skipped, listed in cache.json)", report.cached,
              report.total, report.shards, o->out, report.bad.size());
  });
}

}  // namespace

void register_data(CLI::App& app, const GlobalOptions& global) {
  CLI::App* data = app.add_subcommand("data", "Training data: the Shapes dataset and latent/text caches");
  data->require_subcommand(1);
  register_shapes(*data, global);
  register_cache(*data, global);
}

}  // namespace osp::cli
