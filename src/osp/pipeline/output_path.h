#pragma once
// Where a generation writes: the format its path picks and the checks made before any model is
// loaded, so that an unwritable path fails at once, not after the sampling loop.
#include <cstdint>
#include <string>

namespace osp::pipeline {

enum class OutputKind {
  kVideo,        // .mp4, .webm, .gif, or a png pattern such as frames/%03d.png (io/video_writer.h)
  kSafetensors,  // .safetensors: the raw latents and the decoded frames (float32)
};

// The kind for `path`; osp::Error naming -o and the accepted forms otherwise.
OutputKind output_kind(const std::string& path);

// Throws osp::Error naming `path` unless its directory exists and a file can be created there
// (checked by creating and removing a probe file), and the path is not a directory.
void check_output_writable(const std::string& path);

// The output of prompt `index` of a prompt file: "_NNN" inserted before the extension
// ("out.mp4" → "out_002.mp4"), or before the pattern's file name for png sequences
// ("frames/%03d.png" → "frames/002_%03d.png").
std::string numbered_output(const std::string& path, int64_t index);

}  // namespace osp::pipeline
