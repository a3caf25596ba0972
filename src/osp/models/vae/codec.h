#pragma once
// Encoding videos and decoding latents with a WanVAE: input checks with clear errors, spatial
// tiling (tiling.h), batch rows one at a time, progress, and the output clamp of docs/vae.md "Decoder".
#include <ATen/ATen.h>

#include <cstdint>
#include <string>

#include "osp/models/vae/model.h"

namespace osp::vae {

struct CodecOptions {
  int64_t tile_size = 0;     // tile edge in video pixels (multiple of 8); 0: no tiling
  int64_t tile_overlap = 64; // overlap of neighbouring tiles in video pixels (multiple of 8, < tile_size)
  bool progress = false;     // show a progress bar (chunks × tiles)
  RunStats* stats = nullptr; // when set, receives FLOPs and the peak feature-cache size
};

// Throws osp::Error about `tensor` unless video is float32 [B, 3, T, H, W] with T = 4k + 1 (the
// message names the nearest valid counts) and H, W multiples of 8.
void check_video(const at::Tensor& video, const VaeConfig& config, const std::string& tensor = "video");
// Throws osp::Error about `tensor` unless latents is float32 [B, z_dim, T', H', W'], all ≥ 1.
void check_latents(const at::Tensor& latents, const VaeConfig& config, const std::string& tensor = "latents");
// Throws osp::Error naming --tile-size / --tile-overlap for invalid tiling options.
void check_tiling(const CodecOptions& options, const VaeConfig& config);

// video [B, 3, T, H, W] in [−1, 1] → normalized latents [B, z, (T−1)/4 + 1, H/8, W/8] float32.
at::Tensor encode(const WanVAE& model, const at::Tensor& video, const CodecOptions& options = {});

// normalized latents [B, z, T', h, w] → video [B, 3, 4(T'−1) + 1, 8h, 8w] clamped to [−1, 1].
at::Tensor decode(const WanVAE& model, const at::Tensor& latents, const CodecOptions& options = {});

// Untiled decode that hands each chunk's clamped frames [B, 3, t, H, W] to `sink` instead of
// collecting them: memory stays at the feature caches plus one chunk, whatever the frame count.
void decode_stream(const WanVAE& model, const at::Tensor& latents, const FrameSink& sink, bool progress = false,
                   RunStats* stats = nullptr);

}  // namespace osp::vae
