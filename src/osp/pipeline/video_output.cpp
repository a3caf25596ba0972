#include "osp/pipeline/video_output.h"

#include <c10/core/InferenceMode.h>
#include <fmt/format.h>

#include <chrono>
#include <map>

#include "osp/io/safetensors_writer.h"
#include "osp/io/video_writer.h"
#include "osp/models/vae/codec.h"
#include "osp/pipeline/output_path.h"

namespace osp::pipeline {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

vae::CodecOptions codec_options(const OutputOptions& options) {
  vae::CodecOptions codec;
  codec.tile_size = options.tile_size;
  codec.tile_overlap = options.tile_overlap;
  codec.progress = true;
  return codec;
}

// Untiled: each decoded chunk goes straight into the encoder.
OutputSeconds stream_video(const vae::WanVAE& vae, const at::Tensor& latents, const std::string& path,
                           const io::VideoWriteOptions& write_options) {
  OutputSeconds seconds;
  const auto start = Clock::now();
  const int64_t stride = vae.config().space_factor();  // 8 for Wan 2.1, 4 for osp-next-tiny
  const int64_t height = latents.size(2) * stride, width = latents.size(3) * stride;
  io::VideoWriter writer(path, width, height, write_options);
  vae::decode_stream(
      vae, latents.unsqueeze(0),
      [&](const at::Tensor& frames) {
        const auto write_start = Clock::now();
        writer.write(frames[0]);
        seconds.write += since(write_start);
      },
      /*progress=*/true);
  const auto finish_start = Clock::now();
  writer.finish();
  seconds.write += since(finish_start);
  seconds.decode = since(start) - seconds.write;
  return seconds;
}

}  // namespace

OutputSeconds decode_and_write(const vae::WanVAE& vae, const at::Tensor& latents, const std::string& path,
                               const Metadata& metadata, const OutputOptions& options) {
  c10::InferenceMode inference;
  const OutputKind kind = output_kind(path);
  io::VideoWriteOptions write_options;
  write_options.fps = options.fps;
  write_options.crf = options.crf;
  write_options.metadata = metadata;
  if (kind == OutputKind::kVideo && options.tile_size == 0) return stream_video(vae, latents, path, write_options);

  OutputSeconds seconds;
  auto start = Clock::now();
  const at::Tensor frames = vae::decode(vae, latents.unsqueeze(0), codec_options(options))[0];
  seconds.decode = since(start);
  start = Clock::now();
  if (kind == OutputKind::kVideo) {
    io::write_video(path, frames, write_options);
  } else {
    const std::map<std::string, std::string> tags(metadata.begin(), metadata.end());
    io::write_safetensors(path, {{"latents", latents.contiguous()}, {"frames", frames.contiguous()}}, tags);
  }
  seconds.write = since(start);
  return seconds;
}

Metadata generation_metadata(const std::string& prompt, const std::string& negative, const std::string& seed,
                             const GenerationParams& p) {
  return {{"title", prompt},
          {"prompt", prompt},
          {"negative_prompt", negative},
          {"seed", seed},
          {"size", fmt::format("{}x{}", p.width, p.height)},
          {"frames", std::to_string(p.frames)},
          {"steps", std::to_string(p.steps)},
          {"shift", fmt::format("{}", p.shift)},
          {"guidance", fmt::format("{}", p.guidance)},
          {"sampler", p.sampler},
          {"encoder", "osp-next 0.1.0"}};
}

}  // namespace osp::pipeline
