#pragma once
// Bounds-checked little-endian reads from an untrusted byte buffer, shared by the checkpoint
// parsers (safetensors, zip, pickle). Every read checks the remaining length first, so a parser
// built on it cannot read past its buffer whatever the input says; a short read throws osp::Error
// naming the file and what was being read.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "osp/core/error.h"

namespace osp::io {

// Little-endian integer at `p`, assembled byte by byte: no alignment needed, any host byte order.
template <typename T>
T load_le(const uint8_t* p) {
  T value = 0;
  for (size_t i = 0; i < sizeof(T); ++i) value |= static_cast<T>(static_cast<T>(p[i]) << (8 * i));
  return value;
}

class ByteReader {
 public:
  // `file` names the input in error messages.
  ByteReader(const uint8_t* data, size_t size, std::string file) : data_(data), size_(size), file_(std::move(file)) {}

  size_t position() const { return pos_; }
  size_t size() const { return size_; }
  size_t remaining() const { return size_ - pos_; }
  bool at_end() const { return pos_ == size_; }
  const std::string& file() const { return file_; }

  void seek(uint64_t position, const char* what) {
    if (position > size_) fail_about(file_, "{} at offset {} is past the end ({} bytes)", what, position, size_);
    pos_ = static_cast<size_t>(position);
  }

  // Returns a pointer to the next `n` bytes and advances past them.
  const uint8_t* take(uint64_t n, const char* what) {
    if (n > remaining()) {
      fail_about(file_, "truncated: {} needs {} bytes at offset {}, {} left", what, n, pos_, remaining());
    }
    const uint8_t* p = data_ + pos_;
    pos_ += static_cast<size_t>(n);
    return p;
  }

  uint8_t u8(const char* what) { return *take(1, what); }
  uint16_t u16(const char* what) { return load_le<uint16_t>(take(2, what)); }
  uint32_t u32(const char* what) { return load_le<uint32_t>(take(4, what)); }
  uint64_t u64(const char* what) { return load_le<uint64_t>(take(8, what)); }
  std::string_view string(uint64_t n, const char* what) {
    return {reinterpret_cast<const char*>(take(n, what)), static_cast<size_t>(n)};
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  std::string file_;
};

}  // namespace osp::io
