#include "osp/io/pth_file.h"

#include "osp/core/error.h"
#include "osp/io/tensor_copy.h"

namespace osp::io {
namespace {

// torch.save before 1.6 wrote a bare pickle stream (it starts with the PROTO opcode 0x80); say so
// rather than "not a zip archive".
ZipReader open_zip(const MappedFile& file) {
  if (file.size() > 0 && file.data()[0] == 0x80) {
    fail_about(file.path(), "legacy (pre-1.6, non-zip) torch serialization is not supported; re-save it with a newer torch");
  }
  return ZipReader(file.data(), file.size(), file.path());
}

}  // namespace

PthFile::PthFile(const std::string& path)
    : file_(path), zip_(open_zip(file_)), state_(read_torch_state_dict(zip_)) {
  for (const TorchTensor& t : state_.tensors) add(t.name, TensorMeta{t.dtype, t.shape, path, !t.storage->stored()});
}

at::Tensor PthFile::load(const std::string& name, std::optional<c10::ScalarType> dtype) const {
  const TorchTensor& t = state_.tensors[index_of(name)];
  const uint64_t element = dtype_size(t.dtype);
  if (!t.storage->stored()) {
    // Re-packed archives may deflate storages: inflate this one, then view it like a stored one.
    const std::string bytes = zip_.read(*t.storage);
    return copy_tensor(reinterpret_cast<const uint8_t*>(bytes.data()) + t.offset * element, t.dtype, t.shape, t.stride,
                       dtype);
  }
  const uint64_t first = t.storage->data_offset + static_cast<uint64_t>(t.offset) * element;
  at::Tensor out = t.contiguous() ? copy_releasing(file_, first, t.dtype, t.shape, dtype)
                                                    : copy_tensor(file_.data() + first, t.dtype, t.shape, t.stride, dtype);
  file_.release(t.storage->data_offset, t.storage->size);
  return out;
}

void PthFile::will_need(const std::string& name) const {
  const TorchTensor& t = state_.tensors[index_of(name)];
  if (t.storage->stored()) file_.will_need(t.storage->data_offset, t.storage->size);
}

at::Tensor PthFile::load_rows(const std::string& name, const std::vector<int64_t>& rows,
                             std::optional<c10::ScalarType> dtype) const {
  const TorchTensor& t = state_.tensors[index_of(name)];
  if (!t.storage->stored() || !t.contiguous()) return TensorSource::load_rows(name, rows, dtype);
  const uint64_t first = t.storage->data_offset + static_cast<uint64_t>(t.offset) * dtype_size(t.dtype);
  return copy_rows(file_, first, t.dtype, t.shape, rows, dtype, name);
}

std::string PthFile::format() const {
  std::string out = "torch zip (.pth)";
  if (!state_.found_under.empty()) out += fmt::format(", state dict under '{}'", state_.found_under);
  return out;
}

}  // namespace osp::io
