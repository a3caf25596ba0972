#pragma once
// The state dict inside a torch.save zip archive (LibTorch-free): `<archive>/data.pkl` is
// unpickled with the restricted unpickler, the dict of tensors is found (top level, or under
// "model", "state_dict", "module" or "ema"), and every tensor is checked against its storage
// entry `<archive>/data/<key>` so that a reader can view the bytes without further checks.
#include <cstdint>
#include <string>
#include <vector>

#include "osp/io/dtype.h"
#include "osp/io/pickle.h"
#include "osp/io/zip_reader.h"

namespace osp::io {

struct TorchTensor {
  std::string name;  // dotted path within the state dict
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  std::vector<int64_t> stride;  // in elements
  int64_t offset = 0;           // in elements, from the start of the storage
  const ZipEntry* storage = nullptr;  // owned by the ZipReader passed in
  bool contiguous() const;
};

struct TorchStateDict {
  std::string archive;  // the entry-name prefix, e.g. "archive" or "model"
  std::string found_under;  // "" when the state dict is the top-level object, else e.g. "model"
  std::vector<TorchTensor> tensors;  // in pickle (insertion) order
};

// Reads and validates the state dict of the torch zip behind `zip`.
TorchStateDict read_torch_state_dict(const ZipReader& zip);

// The element index one past the last element a strided view touches (0 when it is empty);
// throws osp::Error about `subject` on negative sizes/strides or overflow.
uint64_t strided_extent(const std::vector<int64_t>& shape, const std::vector<int64_t>& stride, int64_t offset,
                        const std::string& subject);

}  // namespace osp::io
