#pragma once
// The safetensors header: `u64 LE length | JSON | data` (docs/dit.md "Checkpoint keys"), parsed and built
// without LibTorch. The parser treats the file as untrusted: after it returns, every tensor's byte
// range lies inside the data section, matches its dtype and shape, and overlaps no other tensor.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "osp/io/dtype.h"

namespace osp::io {

// The reference implementation refuses headers above 100 MB; so do we (a 14B shard's is ~100 KB).
constexpr uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

struct TensorDecl {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
};

struct SafetensorsEntry {
  TensorDecl decl;
  uint64_t begin = 0;  // byte range [begin, end) relative to the start of the data section
  uint64_t end = 0;
};

struct SafetensorsHeader {
  std::vector<SafetensorsEntry> tensors;  // in data order (ascending `begin`)
  std::map<std::string, std::string> metadata;  // "__metadata__"
  uint64_t data_start = 0;  // file offset of the data section: 8 + JSON length
};

// Parses and validates the header of a whole safetensors file held in `data`. `file` names the
// input in errors; every error is an osp::Error naming the file and, where known, the tensor.
SafetensorsHeader parse_safetensors_header(const uint8_t* data, size_t size, const std::string& file);

// Bytes of a tensor of `shape` and `dtype`; throws osp::Error about `subject` on a negative
// dimension or an overflow of int64.
uint64_t tensor_byte_size(const std::vector<int64_t>& shape, DType dtype, const std::string& subject);

// Lays tensors out back to back in the given order (what a writer stores).
std::vector<SafetensorsEntry> layout_safetensors(const std::vector<TensorDecl>& tensors);

// The bytes that precede the data: u64 LE length, then the JSON header ("__metadata__" first, then
// tensors in the given order) padded with spaces to a multiple of 8 bytes, as the reference
// implementation does, so that the data section starts 8-byte aligned.
std::string serialize_safetensors_header(const std::vector<SafetensorsEntry>& tensors,
                                         const std::map<std::string, std::string>& metadata);

}  // namespace osp::io
