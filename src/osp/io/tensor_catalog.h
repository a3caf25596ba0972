#pragma once
// The name → metadata bookkeeping that every TensorSource shares: sources add their tensors in
// file order and implement only load(), format() and path().
#include <string>
#include <unordered_map>
#include <vector>

#include "osp/io/tensor_source.h"

namespace osp::io {

class TensorCatalog : public TensorSource {
 public:
  const std::vector<std::string>& names() const override { return names_; }
  const TensorMeta& meta(const std::string& name) const override;
  bool contains(const std::string& name) const override { return index_.count(name) != 0; }

 protected:
  // Registers a tensor; throws osp::Error about `meta.file` when the name is already taken.
  void add(const std::string& name, TensorMeta meta);
  // Position of `name` in names(); throws osp::Error naming the tensor when absent.
  size_t index_of(const std::string& name) const;

 private:
  std::vector<std::string> names_;
  std::vector<TensorMeta> metas_;
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace osp::io
