#include "osp/io/safetensors_writer.h"

#include "osp/core/error.h"
#include "osp/io/atomic_file.h"
#include "osp/io/torch_dtype.h"

namespace osp::io {
namespace {

std::vector<int64_t> shape_of(const at::Tensor& t) { return {t.sizes().begin(), t.sizes().end()}; }

// The tensor's bytes in the declared dtype, contiguous on the CPU.
at::Tensor as_stored(const at::Tensor& tensor, const TensorDecl& decl) {
  const auto type = scalar_type_of(decl.dtype);
  if (!type) {  // float8 on LibTorch < 2.1: the caller provides the codes
    if (tensor.scalar_type() != at::kByte) {
      fail_about(decl.name, "{} needs uint8 codes on this LibTorch, got {}", dtype_name(decl.dtype), c10::toString(tensor.scalar_type()));
    }
    return tensor.cpu().contiguous();
  }
  return tensor.to(at::kCPU, *type).contiguous();
}

}  // namespace

SafetensorsWriter::SafetensorsWriter(std::string path, const std::vector<TensorDecl>& tensors,
                                     const std::map<std::string, std::string>& metadata)
    : path_(std::move(path)), file_(path_), entries_(layout_safetensors(tensors)) {
  const std::string header = serialize_safetensors_header(entries_, metadata);
  file_.write(header.data(), header.size());
}

const SafetensorsEntry& SafetensorsWriter::next(const std::string& name) {
  if (written_ >= entries_.size()) fail_about(path_, "tensor '{}' was not declared (all {} written)", name, entries_.size());
  const SafetensorsEntry& entry = entries_[written_];
  if (entry.decl.name != name) fail_about(path_, "expected tensor '{}' next, got '{}'", entry.decl.name, name);
  return entry;
}

void SafetensorsWriter::append(const std::string& name, const at::Tensor& tensor) {
  const SafetensorsEntry& entry = next(name);
  if (shape_of(tensor) != entry.decl.shape) {
    fail_about(path_, "tensor '{}' has shape [{}], declared [{}]", name, fmt::join(shape_of(tensor), ", "),
               fmt::join(entry.decl.shape, ", "));
  }
  const at::Tensor stored = as_stored(tensor, entry.decl);
  append_bytes(name, stored.data_ptr(), stored.numel() * stored.element_size());
}

void SafetensorsWriter::append_bytes(const std::string& name, const void* data, size_t size) {
  const SafetensorsEntry& entry = next(name);
  if (size != entry.end - entry.begin) fail_about(path_, "tensor '{}' has {} bytes, declared {}", name, size, entry.end - entry.begin);
  file_.write(data, size);
  ++written_;
}

void SafetensorsWriter::finish() {
  if (written_ != entries_.size()) {
    fail_about(path_, "only {} of {} declared tensors were written (next: '{}')", written_, entries_.size(), entries_[written_].decl.name);
  }
  file_.commit();
}

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<TensorDecl> decls;
  for (const auto& [name, tensor] : tensors) decls.push_back({name, dtype_of(tensor.scalar_type()), shape_of(tensor)});
  SafetensorsWriter writer(path, decls, metadata);
  for (const auto& [name, tensor] : tensors) writer.append(name, tensor);
  writer.finish();
}

}  // namespace osp::io
