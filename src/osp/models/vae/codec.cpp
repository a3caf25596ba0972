#include "osp/models/vae/codec.h"

#include <c10/core/InferenceMode.h>

#include <memory>

#include "osp/core/error.h"
#include "osp/core/progress.h"
#include "osp/core/shape.h"
#include "osp/models/vae/tiling.h"

namespace osp::vae {
namespace {

std::unique_ptr<Progress> maybe_progress(bool show, const std::string& label, int64_t total) {
  return show ? std::make_unique<Progress>(label, total) : nullptr;
}

struct TileGrid {
  std::vector<Span> rows, cols;  // latent pixels
  int64_t count() const { return static_cast<int64_t>(rows.size() * cols.size()); }
};

TileGrid tile_grid(int64_t latent_h, int64_t latent_w, const CodecOptions& o, int64_t factor) {
  const int64_t tile = o.tile_size / factor, overlap = o.tile_overlap / factor;
  return {tile_spans(latent_h, tile, overlap), tile_spans(latent_w, tile, overlap)};
}

}  // namespace

void check_video(const at::Tensor& video, const VaeConfig& config, const std::string& tensor) {
  if (video.dim() != 5) fail_about(tensor, "expected [B, 3, T, H, W], got {}", shape_string(video.sizes()));
  if (video.scalar_type() != at::kFloat) fail_about(tensor, "expected float32, got {}", c10::toString(video.scalar_type()));
  if (video.size(1) != 3) {
    fail_about(tensor, "expected 3 channels (RGB) in [B, 3, T, H, W], got {} channels (shape {})", video.size(1),
               shape_string(video.sizes()));
  }
  const int64_t t = video.size(2), f = config.time_factor();
  if (video.size(0) < 1 || t < 1) fail_about(tensor, "empty video {}", shape_string(video.sizes()));
  if ((t - 1) % f != 0) {
    const int64_t below = (t - 1) / f * f + 1;
    fail_about(tensor, "T = {} frames, but the VAE needs T = {}k + 1 frames; nearest valid counts: {} or {}", t, f,
               below, below + f);
  }
  const int64_t s = config.space_factor();
  if (video.size(3) % s != 0 || video.size(4) % s != 0 || video.size(3) == 0 || video.size(4) == 0) {
    fail_about(tensor, "height {} and width {} must be positive multiples of {}", video.size(3), video.size(4), s);
  }
}

void check_latents(const at::Tensor& latents, const VaeConfig& config, const std::string& tensor) {
  if (latents.dim() != 5) fail_about(tensor, "expected [B, {}, T, H, W], got {}", config.z_dim, shape_string(latents.sizes()));
  if (latents.scalar_type() != at::kFloat) {
    fail_about(tensor, "expected float32, got {}", c10::toString(latents.scalar_type()));
  }
  if (latents.size(1) != config.z_dim) {
    fail_about(tensor, "expected {} latent channels in [B, C, T, H, W], got {} (shape {})", config.z_dim,
               latents.size(1), shape_string(latents.sizes()));
  }
  for (int64_t d : {0, 2, 3, 4}) {
    if (latents.size(d) < 1) fail_about(tensor, "empty latents {}", shape_string(latents.sizes()));
  }
}

void check_tiling(const CodecOptions& o, const VaeConfig& config) {
  const int64_t s = config.space_factor();
  if (o.tile_size == 0) return;
  if (o.tile_size < 0 || o.tile_size % s != 0) fail_about("--tile-size", "must be 0 (off) or a positive multiple of {}, got {}", s, o.tile_size);
  if (o.tile_overlap < 0 || o.tile_overlap % s != 0 || o.tile_overlap >= o.tile_size) {
    fail_about("--tile-overlap", "must be a multiple of {} in [0, tile size {}), got {}", s, o.tile_size,
               o.tile_overlap);
  }
}

at::Tensor encode(const WanVAE& model, const at::Tensor& video, const CodecOptions& options) {
  const VaeConfig& config = model.config();
  check_video(video, config);
  check_tiling(options, config);
  c10::InferenceMode inference;
  const int64_t s = config.space_factor();
  const int64_t batch = video.size(0), frames = video.size(2);
  const TileGrid grid = tile_grid(video.size(3) / s, video.size(4) / s, options, s);
  const int64_t chunks = config.latent_frames(frames);
  auto progress = maybe_progress(options.progress, "vae encode", batch * grid.count() * chunks);
  const auto step = [&] {
    if (progress) progress->step();
  };
  std::vector<at::Tensor> rows;
  for (int64_t b = 0; b < batch; ++b) {
    const at::Tensor sample = video.narrow(0, b, 1).to(model.device());
    if (grid.count() == 1) {
      rows.push_back(model.encode_region(sample, step, options.stats));
      continue;
    }
    TileBlender blender({1, config.z_dim, chunks, video.size(3) / s, video.size(4) / s},
                        at::TensorOptions().dtype(at::kFloat).device(model.device()));
    for (size_t i = 0; i < grid.rows.size(); ++i) {
      const at::Tensor wh = span_weights(grid.rows, i, 1);
      for (size_t j = 0; j < grid.cols.size(); ++j) {
        const at::Tensor ww = span_weights(grid.cols, j, 1);
        const Span &r = grid.rows[i], &c = grid.cols[j];
        const at::Tensor tile = sample.narrow(3, r.start * s, r.length * s).narrow(4, c.start * s, c.length * s);
        blender.add(model.encode_region(tile, step, options.stats), 0, r.start, c.start, wh, ww);
        blender.add_weight(r.start, c.start, wh, ww);
      }
    }
    rows.push_back(blender.finish());
  }
  return (rows.size() == 1 ? rows[0] : at::cat(rows, 0)).to(at::kCPU);
}

at::Tensor decode(const WanVAE& model, const at::Tensor& latents, const CodecOptions& options) {
  const VaeConfig& config = model.config();
  check_latents(latents, config);
  check_tiling(options, config);
  c10::InferenceMode inference;
  const int64_t s = config.space_factor();
  const int64_t batch = latents.size(0), chunks = latents.size(2);
  const TileGrid grid = tile_grid(latents.size(3), latents.size(4), options, s);
  auto progress = maybe_progress(options.progress, "vae decode", batch * grid.count() * chunks);
  const at::Tensor ones_h = at::ones({latents.size(3) * s}), ones_w = at::ones({latents.size(4) * s});
  std::vector<at::Tensor> rows;
  for (int64_t b = 0; b < batch; ++b) {
    const at::Tensor sample = latents.narrow(0, b, 1).to(model.device());
    TileBlender blender({1, 3, config.video_frames(chunks), latents.size(3) * s, latents.size(4) * s},
                        at::TensorOptions().dtype(at::kFloat).device(model.device()));
    for (size_t i = 0; i < grid.rows.size(); ++i) {
      const at::Tensor wh = grid.count() == 1 ? ones_h : span_weights(grid.rows, i, s);
      for (size_t j = 0; j < grid.cols.size(); ++j) {
        const at::Tensor ww = grid.count() == 1 ? ones_w : span_weights(grid.cols, j, s);
        const Span &r = grid.rows[i], &c = grid.cols[j];
        int64_t t0 = 0;
        model.decode_region(sample.narrow(3, r.start, r.length).narrow(4, c.start, c.length),
                            [&](const at::Tensor& frames) {
                              blender.add(frames, t0, r.start * s, c.start * s, wh, ww);
                              t0 += frames.size(2);
                              if (progress) progress->step();
                            },
                            options.stats);
        blender.add_weight(r.start * s, c.start * s, wh, ww);
      }
    }
    rows.push_back(blender.finish().clamp_(-1.0, 1.0));  // docs/vae.md "Decoder": output clamped to [−1, 1]
  }
  return (rows.size() == 1 ? rows[0] : at::cat(rows, 0)).to(at::kCPU);
}

void decode_stream(const WanVAE& model, const at::Tensor& latents, const FrameSink& sink, bool progress,
                   RunStats* stats) {
  check_latents(latents, model.config());
  c10::InferenceMode inference;
  auto bar = maybe_progress(progress, "vae decode", latents.size(2));
  model.decode_region(latents.to(model.device()), [&](const at::Tensor& frames) {
    sink(frames.clamp(-1.0, 1.0));
    if (bar) bar->step();
  }, stats);
}

}  // namespace osp::vae
