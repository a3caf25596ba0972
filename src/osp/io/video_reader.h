#pragma once
// Reading video files through ffmpeg's libraries (mp4, webm, avi, gif, … whatever the demuxers
// and decoders of the installed libavformat/libavcodec handle) into float frames in [−1, 1].
#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <string>

namespace osp::io {

struct VideoReadOptions {
  double fps = 0;          // > 0: resample to this rate (each output time takes the latest source frame); 0: keep
  int64_t width = 0;       // with height: resize to cover width × height (aspect kept), then center-crop;
  int64_t height = 0;      //   both 0: keep the source size
  int64_t max_frames = 0;  // > 0: stop after this many output frames
};

struct Video {
  at::Tensor frames;  // [3, T, H, W] float32 in [−1, 1], RGB
  double fps = 0;     // frames per second of `frames`
  std::map<std::string, std::string> metadata;  // the container's tags (e.g. what osp generate wrote)
};

// Throws osp::Error naming `path` when it cannot be opened or decoded, has no video stream, or
// yields no frame (zero-length video); names the flag for invalid options.
Video read_video(const std::string& path, const VideoReadOptions& options = {});

}  // namespace osp::io
