// osp vae-encode / osp vae-decode: the Wan VAE (docs/vae.md) between video files or
// safetensors tensors and normalized latents.
//   vae-encode: IN is a video file (read through ffmpeg) or a safetensors file with `video` float32
//               [B, 3, T, H, W] in [−1, 1]; OUT receives `latents` float32 [B, z, T', H', W'].
//   vae-decode: IN holds `latents`; OUT is a safetensors file (`video` float32 [B, 3, T, H, W]) or a
//               video file (.mp4 H.264, .webm, .gif, or a png pattern such as frames/%03d.png).
//   vae-preview-fit: fits the VAE's latent → RGB preview map (models/vae/latent_preview.h) on the
//               clips of a video manifest and writes latent_preview.json beside the weights.
#include <c10/core/InferenceMode.h>

#include <optional>

#include "commands.h"
#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/core/memory_size.h"
#include "osp/core/precision.h"
#include "osp/core/runtime.h"
#include "osp/core/shape.h"
#include "osp/core/timer.h"
#include "osp/io/input_tensors.h"
#include "osp/io/safetensors_writer.h"
#include "osp/io/video_reader.h"
#include "osp/io/video_writer.h"
#include "osp/core/progress.h"
#include "osp/models/vae/codec.h"
#include "osp/models/vae/latent_preview.h"
#include "osp/models/vae/loader.h"
#include "osp/pipeline/generation_memory_plan.h"
#include "osp/train/manifest.h"

namespace osp::cli {

namespace {

struct VaeCommonOptions {
  std::string vae;
  std::string config;
  std::string in;
  std::string out;
  std::string precision = "fp32";
  std::string device = "cpu";
  vae::CodecOptions codec;
};

struct EncodeOptions : VaeCommonOptions {
  io::VideoReadOptions read;
};

struct DecodeOptions : VaeCommonOptions {
  io::VideoWriteOptions write;
  std::string tile = "0";    // --tile-size: pixels, 0 or auto
  std::string max_memory;    // budget of --tile-size auto (default: the available memory)
};

struct PreviewFitOptions : VaeCommonOptions {
  int64_t count = 100;  // clips of the manifest used (its first ones)
};

// `tile_text`: --tile-size as text that also takes "auto" (vae-decode); otherwise pixels.
void add_common(CLI::App* cmd, VaeCommonOptions& o, std::string* tile_text = nullptr) {
  cmd->add_option("--vae", o.vae, "Wan2.1_VAE.pth, a diffusers vae/ folder, or a folder holding either")->required();
  cmd->add_option("--config", o.config, "VAE config.json (AutoencoderKLWan fields; default: Wan 2.1)");
  cmd->add_option("--precision", o.precision, "fp32 (the official VAE precision)")->capture_default_str();
  cmd->add_option("--device", o.device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  if (tile_text != nullptr) {
    cmd->add_option("--tile-size", *tile_text,
                    "spatial tile edge in pixels, multiple of 8 (0: no tiling; auto: the largest whose decode fits "
                    "--max-memory)")
        ->capture_default_str();
  } else {
    cmd->add_option("--tile-size", o.codec.tile_size, "spatial tile edge in pixels, multiple of 8 (0: no tiling)")
        ->capture_default_str();
  }
  cmd->add_option("--tile-overlap", o.codec.tile_overlap, "overlap of neighbouring tiles in pixels, multiple of 8")
      ->capture_default_str();
}

std::unique_ptr<vae::WanVAE> load(const VaeCommonOptions& o) {
  const Precision precision = Precision::parse(o.precision);
  if (precision.reduced()) fail_about("--precision", "only fp32 is implemented for the VAE (its official precision)");
  StageTimer timer("load VAE");
  auto model = vae::load_vae(o.vae, o.config.empty() ? std::nullopt : std::optional<std::string>(o.config),
                             parse_device(o.device));
  timer.done();
  vae::check_tiling(o.codec, model->config());
  return model;
}

bool is_safetensors(const std::string& path) {
  return path.size() >= 12 && path.compare(path.size() - 12, 12, ".safetensors") == 0;
}

void run_encode(const EncodeOptions& o) {
  if (!is_safetensors(o.out)) fail_about("--out", "latents are written as .safetensors, got '{}'", o.out);
  auto model = load(o);
  at::Tensor video;
  std::map<std::string, std::string> metadata{{"precision", "fp32"}};
  if (is_safetensors(o.in)) {
    auto inputs = io::open_tensor_source(o.in);
    video = io::load_input_tensor(*inputs, "video", io::DType::kF32, 5);
  } else {
    StageTimer timer("read video");
    const io::Video v = io::read_video(o.in, o.read);
    timer.done();
    video = v.frames.unsqueeze(0);
    metadata["fps"] = fmt::format("{}", v.fps);
    log::info("read {} frames {}x{} at {} fps from {}", video.size(2), video.size(4), video.size(3), v.fps, o.in);
    if ((video.size(2) - 1) % model->config().time_factor() != 0) {
      const int64_t f = model->config().time_factor(), below = (video.size(2) - 1) / f * f + 1;
      fail_about(o.in, "{} frames, but the VAE needs {}k + 1; pass --frames {} (or --fps to resample)", video.size(2),
                 f, below);
    }
  }
  vae::CodecOptions codec = o.codec;
  codec.progress = true;
  StageTimer timer("encode");
  const at::Tensor latents = vae::encode(*model, video, codec);
  timer.done();
  io::write_safetensors(o.out, {{"latents", latents.contiguous()}}, metadata);
  log::info("wrote latents {} to {}", shape_string(latents.sizes()), o.out);
}

// --tile-size auto: the largest tile whose decode fits the budget (docs/memory.md "Planning a
// generation"), checked before the VAE loads; the plan is logged beside the measured peak later.
// --tile-size auto: the largest tile whose decode fits the budget (docs/memory.md "Planning a
// generation"), chosen before the VAE loads. Returns the tile and sets the planned peak.
int64_t planned_tile(const DecodeOptions& o, const io::TensorSource& inputs, int64_t* planned_peak) {
  const int64_t tile = pipeline::parse_vae_tile_size(o.tile, "--tile-size");
  *planned_peak = 0;
  if (!inputs.contains("latents") || inputs.meta("latents").shape.size() != 5) {
    return tile == pipeline::kAutoTile ? 0 : tile;  // load_input_tensor names the problem below
  }
  const std::vector<int64_t>& shape = inputs.meta("latents").shape;
  const std::optional<std::string> config_path = o.config.empty() ? std::nullopt : std::optional(o.config);
  const io::ComponentFiles paths = vae::resolve_vae_paths(o.vae, config_path);
  const vae::VaeConfig config = vae::read_vae_config(paths);
  const int64_t s = config.space_factor(), frames = config.time_factor() * (shape[2] - 1) + 1;
  const int64_t width = shape[4] * s, height = shape[3] * s;
  const int64_t weights = pipeline::vae_weight_bytes({o.vae, config_path});
  const auto runtime = static_cast<int64_t>(current_rss_bytes());
  const int64_t budget =
      o.max_memory.empty() ? available_memory_bytes() + runtime : parse_memory_size(o.max_memory, "--max-memory");
  const int64_t chosen = tile == pipeline::kAutoTile ? pipeline::choose_tile_size(config, weights, width, height, frames,
                                                                                  o.codec.tile_overlap, budget, runtime)
                                                     : tile;
  const pipeline::StagePlan plan = pipeline::plan_decode(config, weights, width, height, frames, chosen);
  *planned_peak = runtime + plan.total();
  const std::string tiling = chosen > 0 ? fmt::format("{}-pixel tiles", chosen) : "whole frames";
  if ((tile == pipeline::kAutoTile || !o.max_memory.empty()) && *planned_peak > budget) {
    fail_about("--max-memory", "{} is less than the {} this decode needs at least ({}×{}, {} frames, {})",
               format_bytes(budget), format_bytes(*planned_peak), width, height, frames, tiling);
  }
  log::info("decode plan: {}×{}, {} frames, {}: peak {} (the process {}, weights {}, one chunk {}, frames {}); budget {}",
            width, height, frames, tiling, format_bytes(*planned_peak), format_bytes(runtime),
            format_bytes(plan.lines[0].bytes), format_bytes(plan.lines[1].bytes), format_bytes(plan.lines[2].bytes),
            format_bytes(budget));
  return chosen;
}

void run_decode(const DecodeOptions& options) {
  DecodeOptions o = options;
  const bool to_video = !is_safetensors(o.out);
  if (to_video) io::video_format_for(o.out);  // unknown output types fail before any work
  auto inputs = io::open_tensor_source(o.in);
  int64_t planned_peak = 0;
  o.codec.tile_size = planned_tile(o, *inputs, &planned_peak);
  auto model = load(o);
  const at::Tensor latents = io::load_input_tensor(*inputs, "latents", io::DType::kF32, 5);
  vae::check_latents(latents, model->config());
  StageTimer timer("decode");
  if (!to_video) {
    vae::CodecOptions codec = o.codec;
    codec.progress = true;
    const at::Tensor video = vae::decode(*model, latents, codec);
    timer.done();
    io::write_safetensors(o.out, {{"video", video.contiguous()}}, {{"precision", "fp32"}});
    log::info("wrote video {} to {}", shape_string(video.sizes()), o.out);
    return;
  }
  if (latents.size(0) != 1) {
    fail_about("--out", "a video file takes one sample, latents has B = {} (write .safetensors instead)",
               latents.size(0));
  }
  const int64_t s = model->config().space_factor();
  io::VideoWriter writer(o.out, latents.size(4) * s, latents.size(3) * s, o.write);
  if (o.codec.tile_size == 0) {  // untiled: frames go to the encoder chunk by chunk
    vae::decode_stream(*model, latents, [&](const at::Tensor& frames) { writer.write(frames.squeeze(0).cpu()); },
                       /*progress=*/true);
  } else {
    vae::CodecOptions codec = o.codec;
    codec.progress = true;
    writer.write(vae::decode(*model, latents, codec).squeeze(0));
  }
  writer.finish();
  timer.done();
  log::info("wrote {} frames {}x{} at {} fps to {}; peak memory {} (planned {})", writer.frames_written(),
            latents.size(4) * s, latents.size(3) * s, o.write.fps, o.out,
            format_bytes(static_cast<int64_t>(peak_rss_bytes())),
            format_bytes(planned_peak));
}

void run_preview_fit(const PreviewFitOptions& o) {
  if (o.count < 1) fail_about("--count", "must be at least 1, got {}", o.count);
  const train::Manifest manifest = train::read_manifest(o.in);
  const std::string out = o.out.empty() ? vae::latent_preview_path(o.vae) : o.out;
  auto model = load(o);
  const vae::VaeConfig& config = model->config();
  c10::InferenceMode inference;
  vae::LatentPreviewFit fit(config.z_dim, config.time_factor(), config.space_factor());
  const int64_t clips = std::min<int64_t>(o.count, static_cast<int64_t>(manifest.entries.size()));
  Progress progress("preview fit", clips);
  for (int64_t i = 0; i < clips; ++i) {
    const train::ManifestEntry& entry = manifest.entries[i];
    if (entry.video.empty()) fail_about(fmt::format("{}:{}", o.in, entry.line), "expected a video sample, got a cached one");
    const at::Tensor video = io::read_video(entry.video).frames.unsqueeze(0).contiguous();
    vae::check_video(video, config, entry.video);
    fit.add(vae::encode(*model, video, o.codec)[0], video[0]);
    progress.step();
  }
  const vae::LatentPreview preview = fit.solve();
  const vae::LatentPreviewQuality quality = fit.quality(preview);
  vae::write_latent_preview(out, preview, fit.samples(), quality);
  log::info("fitted the latent preview on {} latent pixels of {} clips: RMS error {:.4f} (colours in [-1, 1]), "
            "R² {:.3f}; wrote {}", fit.samples(), clips, quality.rms_error, quality.r_squared, out);
}

}  // namespace

void register_vae(CLI::App& app, const GlobalOptions& global) {
  auto enc = std::make_shared<EncodeOptions>();
  CLI::App* e = app.add_subcommand("vae-encode", "Encode a video (file or safetensors `video`) to normalized latents");
  add_common(e, *enc);
  e->add_option("--in", enc->in, "video file (mp4/webm/avi/gif/png pattern) or safetensors with video f32 "
                                 "[B,3,T,H,W] in [-1,1]")
      ->required();
  e->add_option("--out", enc->out, "safetensors to write latents f32 [B,z,T',H',W'] to (atomically)")->required();
  e->add_option("--fps", enc->read.fps, "video input: resample to this frame rate (0: keep)")->capture_default_str();
  e->add_option("--width", enc->read.width, "video input: resize to cover, then center-crop to this width");
  e->add_option("--height", enc->read.height, "video input: resize to cover, then center-crop to this height");
  e->add_option("--frames", enc->read.max_frames, "video input: use the first N frames (N = 4k + 1)");
  e->callback([enc, &global] {
    apply_global_options(global);
    run_encode(*enc);
  });

  auto dec = std::make_shared<DecodeOptions>();
  CLI::App* d = app.add_subcommand("vae-decode", "Decode latents to a video file or a safetensors `video` tensor");
  add_common(d, *dec, &dec->tile);
  d->add_option("--max-memory", dec->max_memory,
                "budget of --tile-size auto, checked before decoding (24G, 6GiB; default: the available memory)");
  d->add_option("--in", dec->in, "safetensors with latents f32 [B,z,T',H',W'] (normalized)")->required();
  d->add_option("--out", dec->out, "OUT.safetensors (video f32 [B,3,T,H,W]) or .mp4/.webm/.gif/frames_%03d.png")
      ->required();
  d->add_option("--fps", dec->write.fps, "video output frame rate")->capture_default_str();
  d->add_option("--crf", dec->write.crf, "video output quality, lower is better (H.264 0-51, default 17; VP9 0-63, "
                                         "default 30)");
  d->callback([dec, &global] {
    apply_global_options(global);
    run_decode(*dec);
  });

  auto fit = std::make_shared<PreviewFitOptions>();
  CLI::App* f = app.add_subcommand("vae-preview-fit", "Fit the VAE's latent-to-RGB preview map on a video manifest "
                                                      "(docs/vae.md \"Latent preview\")");
  add_common(f, *fit);
  f->add_option("--manifest", fit->in, "JSONL manifest of {\"video\", \"caption\"} lines")->required();
  f->add_option("--count", fit->count, "clips to fit on (the manifest's first)")->capture_default_str();
  f->add_option("--out", fit->out, "the JSON file to write (default: latent_preview.json beside the VAE weights)");
  f->callback([fit, &global] {
    apply_global_options(global);
    run_preview_fit(*fit);
  });
}

}  // namespace osp::cli
