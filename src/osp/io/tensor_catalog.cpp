#include "osp/io/tensor_catalog.h"

#include "osp/core/error.h"

namespace osp::io {

const TensorMeta& TensorCatalog::meta(const std::string& name) const { return metas_[index_of(name)]; }

void TensorCatalog::add(const std::string& name, TensorMeta meta) {
  if (!index_.emplace(name, names_.size()).second) fail_about(meta.file, "tensor '{}' appears twice", name);
  names_.push_back(name);
  metas_.push_back(std::move(meta));
}

size_t TensorCatalog::index_of(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) fail_about(path(), "no tensor named '{}'", name);
  return it->second;
}

}  // namespace osp::io
