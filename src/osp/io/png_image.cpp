#include "osp/io/png_image.h"

#include <zlib.h>

#include <cstdint>

#include "osp/core/error.h"
#include "osp/core/shape.h"
#include "osp/io/atomic_file.h"
#include "osp/io/video_ffmpeg.h"

namespace osp::io {
namespace {

void put_u32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

// A PNG chunk: length, type, data, CRC-32 of type and data (PNG spec §5.3).
void put_chunk(std::string& out, const char* type, const std::string& data) {
  put_u32(out, static_cast<uint32_t>(data.size()));
  const std::string body = std::string(type, 4) + data;
  out += body;
  put_u32(out, static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
}

}  // namespace

std::string encode_png(const at::Tensor& rgb24) {
  if (rgb24.scalar_type() != at::kByte || rgb24.dim() != 3 || rgb24.size(2) != 3 || rgb24.size(0) < 1 ||
      rgb24.size(1) < 1) {
    fail("encode_png expects uint8 pixels [H, W, 3], got {} {}", c10::toString(rgb24.scalar_type()),
         shape_string(rgb24.sizes()));
  }
  const at::Tensor pixels = rgb24.contiguous();
  const int64_t h = pixels.size(0), row = pixels.size(1) * 3;
  // Scanlines, each led by filter type 0 (none).
  std::string raw;
  raw.reserve(static_cast<size_t>(h * (row + 1)));
  const char* src = reinterpret_cast<const char*>(pixels.data_ptr<uint8_t>());
  for (int64_t y = 0; y < h; ++y) {
    raw.push_back('\0');
    raw.append(src + y * row, static_cast<size_t>(row));
  }
  uLongf packed_size = compressBound(static_cast<uLong>(raw.size()));
  std::string packed(packed_size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(packed.data()), &packed_size, reinterpret_cast<const Bytef*>(raw.data()),
                static_cast<uLong>(raw.size()), Z_BEST_COMPRESSION) != Z_OK) {
    fail("png: zlib compression failed");
  }
  packed.resize(packed_size);

  std::string header;
  put_u32(header, static_cast<uint32_t>(pixels.size(1)));
  put_u32(header, static_cast<uint32_t>(h));
  header += std::string{8, 2, 0, 0, 0};  // bit depth 8, colour type 2 (RGB), deflate, no filter, no interlace
  std::string png = "\x89PNG\r\n\x1a\n";
  put_chunk(png, "IHDR", header);
  put_chunk(png, "IDAT", packed);
  put_chunk(png, "IEND", "");
  return png;
}

void write_png(const std::string& path, const at::Tensor& image) {
  if (image.dim() != 3 || image.size(0) != 3) fail_about(path, "an image is [3, H, W], got {}", shape_string(image.sizes()));
  write_file_atomically(path, encode_png(ffmpeg::to_rgb24(image.to(at::kFloat))));
}

}  // namespace osp::io
