#pragma once
// Writing safetensors files, streamed: the header (names, dtypes, shapes) is declared up front,
// then tensors are appended one at a time in that order, so a converter holds at most one tensor
// in memory. The file appears atomically: data goes to `<path>.tmp.<pid>`, is fsynced, then renamed.
#include <ATen/ATen.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "osp/io/atomic_file.h"
#include "osp/io/safetensors_header.h"

namespace osp::io {

class SafetensorsWriter {
 public:
  // Creates the temporary file and writes the header. Throws osp::Error on I/O failure or bad
  // declarations (duplicate names, negative dimensions).
  SafetensorsWriter(std::string path, const std::vector<TensorDecl>& tensors,
                    const std::map<std::string, std::string>& metadata = {});
  SafetensorsWriter(const SafetensorsWriter&) = delete;
  SafetensorsWriter& operator=(const SafetensorsWriter&) = delete;

  // Appends the next declared tensor; `name` and the shape must match the declaration. The tensor
  // is converted to the declared dtype (for float8 on LibTorch < 2.1, pass the uint8 codes).
  void append(const std::string& name, const at::Tensor& tensor);
  // Appends the next declared tensor from raw little-endian bytes (exactly its byte size).
  void append_bytes(const std::string& name, const void* data, size_t size);
  // Checks that every declared tensor was written, fsyncs and renames into place.
  void finish();

  const std::string& path() const { return path_; }

 private:
  const SafetensorsEntry& next(const std::string& name);

  std::string path_;
  AtomicFileWriter file_;
  std::vector<SafetensorsEntry> entries_;
  size_t written_ = 0;  // tensors appended so far
};

// Writes `tensors` in the given order, each in its own dtype.
void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace osp::io
