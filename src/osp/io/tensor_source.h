#pragma once
// A read-only set of named tensors behind one interface, whatever the files: one safetensors file,
// a sharded safetensors set with its index, or a torch zip (.pth/.pt) state dict. Files are
// untrusted: every offset and shape is checked before use, and errors name the file and tensor.
#include <ATen/ATen.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "osp/io/dtype.h"

namespace osp::io {

struct TensorMeta {
  DType dtype;
  std::vector<int64_t> shape;
  std::string file;  // the file that holds it (for messages and `osp info`)
  // Compressed in the file (a deflated torch zip entry): every load inflates it, and nothing of it
  // can be read in place.
  bool compressed = false;
  int64_t numel() const;
};

class TensorSource {
 public:
  virtual ~TensorSource() = default;
  // Tensor names in the order of the files (first shard first).
  virtual const std::vector<std::string>& names() const = 0;
  // Throws osp::Error naming the tensor when absent.
  virtual const TensorMeta& meta(const std::string& name) const = 0;
  virtual bool contains(const std::string& name) const = 0;
  // Copies the tensor into memory it owns, converted to `dtype` when given (else the stored dtype;
  // F8 types decode to float32 where LibTorch has no float8). Mapped pages of the input are
  // released after the copy so that loading a large file keeps at most one tensor resident twice.
  virtual at::Tensor load(const std::string& name, std::optional<c10::ScalarType> dtype = std::nullopt) const = 0;
  // Rows `rows` along dim 0 of a tensor, equal to load(name, dtype).index_select(0, rows), reading
  // only those rows where the file lets it (an embedding table: a prompt's few rows out of 256k).
  // osp::Error naming the tensor for a 0-dimensional tensor or a row outside [0, rows).
  virtual at::Tensor load_rows(const std::string& name, const std::vector<int64_t>& rows,
                               std::optional<c10::ScalarType> dtype = std::nullopt) const;
  // A hint that `name` will be loaded soon: the file's bytes of it are read ahead into the page
  // cache in the background (nothing is charged to the process). Streaming calls it for the group
  // after the one it reads, so that the disk always has a whole block queued. Default: no-op.
  virtual void will_need(const std::string& name) const;
  // "safetensors", "sharded safetensors (N files)", "torch zip (.pth)".
  virtual std::string format() const = 0;
  // The path this source was opened from.
  virtual std::string path() const = 0;
};

// Opens a weights file (.safetensors, .pth, .pt, .bin, .ckpt), an index file
// (*.safetensors.index.json) or a directory holding one of those (index first, then a single
// safetensors file, then model.pt / *.pth). Throws osp::Error for anything unreadable.
std::unique_ptr<TensorSource> open_tensor_source(const std::string& path);

}  // namespace osp::io
