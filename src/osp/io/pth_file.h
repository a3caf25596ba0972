#pragma once
// A torch.save zip archive (.pth / .pt / .bin / .ckpt) as a TensorSource. The pickle goes through
// the restricted unpickler (no code runs); tensor data is viewed in the memory-mapped archive.
#include <string>

#include "osp/io/mapped_file.h"
#include "osp/io/tensor_catalog.h"
#include "osp/io/torch_pickle.h"
#include "osp/io/zip_reader.h"

namespace osp::io {

class PthFile final : public TensorCatalog {
 public:
  explicit PthFile(const std::string& path);

  at::Tensor load(const std::string& name, std::optional<c10::ScalarType> dtype = std::nullopt) const override;
  void will_need(const std::string& name) const override;
  at::Tensor load_rows(const std::string& name, const std::vector<int64_t>& rows,
                       std::optional<c10::ScalarType> dtype = std::nullopt) const override;
  // "torch zip (.pth)", plus where the state dict was found, e.g. "…, state dict under 'model'".
  std::string format() const override;
  std::string path() const override { return file_.path(); }

 private:
  MappedFile file_;
  ZipReader zip_;
  TorchStateDict state_;  // state_.tensors[i] is names()[i]
};

}  // namespace osp::io
