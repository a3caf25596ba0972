#pragma once
// One safetensors file as a TensorSource: the header is parsed and validated at open, the data is
// memory-mapped and copied out tensor by tensor.
#include <map>
#include <string>

#include "osp/io/mapped_file.h"
#include "osp/io/safetensors_header.h"
#include "osp/io/tensor_catalog.h"

namespace osp::io {

class SafetensorsFile final : public TensorCatalog {
 public:
  explicit SafetensorsFile(const std::string& path);

  at::Tensor load(const std::string& name, std::optional<c10::ScalarType> dtype = std::nullopt) const override;
  void will_need(const std::string& name) const override;
  at::Tensor load_rows(const std::string& name, const std::vector<int64_t>& rows,
                       std::optional<c10::ScalarType> dtype = std::nullopt) const override;
  std::string format() const override { return "safetensors"; }
  std::string path() const override { return file_.path(); }
  // The "__metadata__" of the header.
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }

 private:
  MappedFile file_;
  SafetensorsHeader header_;  // header_.tensors[i] is names()[i]
};

}  // namespace osp::io
