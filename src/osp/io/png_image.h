#pragma once
// Single still images as PNG (8-bit RGB, no filtering, zlib-deflated), written atomically through
// io/atomic_file: contact sheets and other figures that are one picture, not a frame sequence.
#include <ATen/ATen.h>

#include <string>

namespace osp::io {

// PNG file bytes of uint8 RGB pixels [H, W, 3].
std::string encode_png(const at::Tensor& rgb24);

// Writes an image [3, H, W] float in [−1, 1] (clamped, rounded to 8 bits) to `path` atomically.
// Throws osp::Error naming the path.
void write_png(const std::string& path, const at::Tensor& image);

}  // namespace osp::io
