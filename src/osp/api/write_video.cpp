// osp::write_video (include/osp/pipeline.h): a library Video to a file, the writers `osp
// generate` uses, with the generation parameters as metadata.
#include <fmt/format.h>

#include <map>

#include "osp/api/error_category.h"
#include "osp/io/safetensors_writer.h"
#include "osp/io/video_writer.h"
#include "osp/pipeline.h"
#include "osp/pipeline/output_path.h"
#include "osp/pipeline/video_output.h"

namespace osp {
namespace {

pipeline::Metadata metadata_of(const Video& video) {
  const Parameters& v = video.parameters;
  pipeline::GenerationParams p;
  p.width = v.width;
  p.height = v.height;
  p.frames = v.frames;
  p.steps = v.steps;
  p.shift = v.shift;
  p.guidance = v.guidance;
  p.sampler = v.sampler;
  return pipeline::generation_metadata(video.prompt, v.negative_prompt, std::to_string(video.seed), p);
}

// uint8 [T, H, W, 3] → float32 [3, T, H, W] in [−1, 1]: the writers' input. u / 127.5 − 1 maps
// back to the same bytes when the writers round.
at::Tensor writer_frames(const at::Tensor& frames) {
  return frames.permute({3, 0, 1, 2}).to(at::kFloat).div(127.5).sub(1.0).contiguous();
}

void check_frames(const at::Tensor& frames) {
  if (!frames.defined() || frames.dim() != 4 || frames.size(3) != 3 || frames.scalar_type() != at::kByte ||
      frames.size(0) < 1) {
    fail_about("video.frames", "must be uint8 [T, H, W, 3] with T ≥ 1");
  }
}

}  // namespace

void write_video(const Video& video, const std::string& path, const WriteOptions& options) {
  api::with_category(ErrorCategory::kBadInput, [&] {
    check_frames(video.frames);
    pipeline::check_output_writable(path);
    return pipeline::output_kind(path);
  });
  const pipeline::OutputKind kind = pipeline::output_kind(path);
  api::with_category(ErrorCategory::kBadFile, [&] {
    const auto metadata = metadata_of(video);
    if (kind == pipeline::OutputKind::kVideo) {
      io::VideoWriteOptions write;
      write.fps = video.fps;
      write.crf = options.crf;
      write.metadata = metadata;
      io::write_video(path, writer_frames(video.frames), write);
    } else {
      std::vector<std::pair<std::string, at::Tensor>> tensors{{"frames", writer_frames(video.frames)}};
      if (video.latents.defined()) tensors.emplace_back("latents", video.latents.contiguous());
      io::write_safetensors(path, tensors, std::map<std::string, std::string>(metadata.begin(), metadata.end()));
    }
  });
}

}  // namespace osp
