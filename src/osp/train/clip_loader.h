#pragma once
// Training clips from video files: decode through io/video_reader with frame-rate resampling,
// resize to cover the target size and centre-crop, keep the first 4k + 1 frames.
#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

#include "osp/train/buckets.h"

namespace osp::train {

struct ClipConfig {
  int64_t frames = 17;  // 4k + 1 (the VAE's temporal factor 4)
  double fps = 16;      // resample to this rate; 0 keeps the file's rate
  int64_t size = 64;    // bucket base: the pixel count of size × size (multiple of 16)
  std::vector<std::string> aspect_ratios = {"1:1"};  // buckets (buckets.h); {"1:1"}: every clip square
};

// osp::Error naming --frames, --fps, --size or --buckets for an invalid config.
void check_clip_config(const ClipConfig& config);

// The source frame size (width, height) of a video file, from its first decoded frame.
Resolution probe_video_size(const std::string& path);

// Frames float32 [3, config.frames, H, W] in [−1, 1] of `path`, resized (aspect kept) to cover
// `target` and centre-cropped to it, at config.fps. osp::Error naming the file when it cannot be
// decoded or is too short (the message gives the frames available at that rate).
at::Tensor load_clip(const std::string& path, const ClipConfig& config, const Resolution& target);

// load_clip into the bucket for the file's aspect ratio (buckets from config.size and
// config.aspect_ratios); `bucket` receives the size chosen.
at::Tensor load_clip(const std::string& path, const ClipConfig& config, Resolution* bucket = nullptr);

}  // namespace osp::train
