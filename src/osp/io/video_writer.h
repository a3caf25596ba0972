#pragma once
// Writing float frames in [−1, 1] as video files through ffmpeg's libraries: mp4 (H.264 via
// libx264, the default), webm (VP9), gif, and png frame sequences (a path with a printf pattern
// such as frames/%03d.png, numbered from 0). Files appear atomically: each is written to
// `<path>.tmp.<pid>` and renamed into place when complete.
#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace osp::io {

enum class VideoFormat { kMp4, kWebm, kGif, kPngSequence };

struct VideoWriteOptions {
  double fps = 16.0;  // Wan 2.1 generates 16 fps
  // Quality as a constant rate factor, lower is better: H.264 0–51 (default 17, visually near
  // lossless), VP9 0–63 (default 30). −1: the default. Ignored for gif and png.
  int crf = -1;
  // Container tags (mp4, webm; ignored for gif and png), e.g. the generation parameters. mp4 keeps
  // arbitrary keys (movflags use_metadata_tags).
  std::vector<std::pair<std::string, std::string>> metadata;
};

// The format for a path: a '%' pattern → png sequence; else by extension (.mp4, .webm, .gif).
// Throws osp::Error naming the path for anything else.
VideoFormat video_format_for(const std::string& path);
// Whether `path` names a video output (pattern or known extension) rather than e.g. .safetensors.
bool is_video_path(const std::string& path);

// Streams frames to a file chunk by chunk (the VAE decoder hands over a few frames at a time).
class VideoWriter {
 public:
  // Opens the encoder for width × height frames (even sizes for mp4/webm). Throws osp::Error.
  VideoWriter(const std::string& path, int64_t width, int64_t height, const VideoWriteOptions& options = {});
  // Removes the temporary file unless finish() succeeded.
  ~VideoWriter();
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;

  // Appends frames [3, t, H, W] float in [−1, 1] (values outside are clamped).
  void write(const at::Tensor& frames);
  // Flushes the encoder, closes the file and renames it into place. Throws if no frame was written.
  void finish();
  int64_t frames_written() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Writes all of frames [3, T, H, W] float in [−1, 1] to `path`.
void write_video(const std::string& path, const at::Tensor& frames, const VideoWriteOptions& options = {});

}  // namespace osp::io
