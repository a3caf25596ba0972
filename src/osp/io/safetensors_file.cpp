#include "osp/io/safetensors_file.h"

#include "osp/io/tensor_copy.h"

namespace osp::io {

SafetensorsFile::SafetensorsFile(const std::string& path)
    : file_(path), header_(parse_safetensors_header(file_.data(), file_.size(), path)) {
  for (const SafetensorsEntry& t : header_.tensors) add(t.decl.name, TensorMeta{t.decl.dtype, t.decl.shape, path});
}

at::Tensor SafetensorsFile::load(const std::string& name, std::optional<c10::ScalarType> dtype) const {
  const SafetensorsEntry& t = header_.tensors[index_of(name)];
  const uint64_t offset = header_.data_start + t.begin;
  return copy_releasing(file_, offset, t.decl.dtype, t.decl.shape, dtype);
}

void SafetensorsFile::will_need(const std::string& name) const {
  const SafetensorsEntry& t = header_.tensors[index_of(name)];
  file_.will_need(header_.data_start + t.begin, t.end - t.begin);
}

at::Tensor SafetensorsFile::load_rows(const std::string& name, const std::vector<int64_t>& rows,
                                     std::optional<c10::ScalarType> dtype) const {
  const SafetensorsEntry& t = header_.tensors[index_of(name)];
  return copy_rows(file_, header_.data_start + t.begin, t.decl.dtype, t.decl.shape, rows, dtype, name);
}

}  // namespace osp::io
