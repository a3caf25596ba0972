#include "osp/train/clip_loader.h"

#include <cmath>

#include "osp/core/error.h"
#include "osp/io/video_reader.h"

namespace osp::train {

void check_clip_config(const ClipConfig& c) {
  if (c.frames < 1 || (c.frames - 1) % 4 != 0) {
    fail_about("--frames", "must be 4k + 1 (1, 5, 9, 13, 17, …), got {}", c.frames);
  }
  if (c.fps < 0 || !std::isfinite(c.fps)) fail_about("--fps", "must be positive (or 0: keep), got {}", c.fps);
  resolution_buckets(c.size, c.aspect_ratios);  // checks --size and --buckets
}

Resolution probe_video_size(const std::string& path) {
  io::VideoReadOptions options;
  options.max_frames = 1;
  const io::Video video = io::read_video(path, options);
  return {video.frames.size(3), video.frames.size(2)};
}

at::Tensor load_clip(const std::string& path, const ClipConfig& config, const Resolution& target) {
  io::VideoReadOptions options;
  options.fps = config.fps;
  options.width = target.width;
  options.height = target.height;
  options.max_frames = config.frames;
  const io::Video video = io::read_video(path, options);
  const int64_t got = video.frames.size(1);
  if (got < config.frames) {
    fail_about(path, "has {} frames at {} fps, a clip needs {}", got, video.fps, config.frames);
  }
  return video.frames;
}

at::Tensor load_clip(const std::string& path, const ClipConfig& config, Resolution* bucket) {
  const Resolution source = probe_video_size(path);
  const Resolution target = bucket_for(source.width, source.height, resolution_buckets(config.size, config.aspect_ratios));
  if (bucket) *bucket = target;
  return load_clip(path, config, target);
}

}  // namespace osp::train
