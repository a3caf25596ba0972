#pragma once
// Writing torch.save archives (.pth / .pt), streamed: the format PthFile and torch.load read
// (docs/formats.md "torch zip"). Tensors are appended one at a time, each becoming a stored
// (uncompressed) zip entry `<archive>/data/<k>` whose data starts on a 64-byte boundary, as
// torch.save aligns them, so that a reader can map them in place; finish() writes the pickle
// `<archive>/data.pkl` (protocol 2: an OrderedDict of torch._utils._rebuild_tensor_v2 calls on
// persistent storages, optionally nested under a key beside a few scalars), `<archive>/version`,
// and the central directory (ZIP64 where offsets pass 4 GiB). Holds at most one tensor; the file
// appears atomically.
#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "osp/io/atomic_file.h"

namespace osp::io {

// How the state dict sits in the pickled object.
struct PthLayout {
  // "": the object is the state dict itself (Wan's .pth files). Else the object is a dict with the
  // state dict under this key followed by `extras` (OSP-Next's FSDP model.pt: {"model": …,
  // "step": 100, "lr": 1e-4}).
  std::string under;
  std::vector<std::pair<std::string, std::variant<int64_t, double>>> extras;
  std::string archive = "archive";  // the entries' name prefix
};

class PthWriter {
 public:
  explicit PthWriter(std::string path, PthLayout layout = {});
  PthWriter(const PthWriter&) = delete;
  PthWriter& operator=(const PthWriter&) = delete;

  // Appends a tensor (written contiguous, in its own dtype: float64/32/16, bf16, int64/32/16/8,
  // uint8, bool). osp::Error for a duplicate name or another dtype.
  void append(const std::string& name, const at::Tensor& tensor);
  // Writes the pickle, the version record and the directory, then renames into place.
  void finish();

 private:
  struct Record {
    std::string name;
    uint64_t offset = 0;  // of the local header
    uint64_t size = 0;
    uint32_t crc = 0;
  };
  struct Stored {
    std::string key;  // the state-dict name
    std::string storage_class;
    std::vector<int64_t> shape;
    int64_t numel = 0;
  };

  void add_record(const std::string& name, const void* data, uint64_t size);
  std::string pickle() const;

  AtomicFileWriter file_;
  PthLayout layout_;
  std::vector<Record> records_;
  std::vector<Stored> tensors_;
};

}  // namespace osp::io
