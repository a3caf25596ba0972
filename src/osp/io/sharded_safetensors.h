#pragma once
// A sharded safetensors set: `*.safetensors.index.json` with `weight_map: {tensor: shard file}`
// (docs/dit.md "Checkpoint keys"). Every mapped tensor must exist in its shard; shard paths must stay inside
// the index's directory.
#include <memory>
#include <string>
#include <vector>

#include "osp/io/safetensors_file.h"
#include "osp/io/tensor_catalog.h"

namespace osp::io {

class ShardedSafetensors final : public TensorCatalog {
 public:
  explicit ShardedSafetensors(const std::string& index_path);

  at::Tensor load(const std::string& name, std::optional<c10::ScalarType> dtype = std::nullopt) const override;
  void will_need(const std::string& name) const override;
  at::Tensor load_rows(const std::string& name, const std::vector<int64_t>& rows,
                       std::optional<c10::ScalarType> dtype = std::nullopt) const override;
  std::string format() const override;
  std::string path() const override { return index_path_; }
  const std::vector<std::unique_ptr<SafetensorsFile>>& shards() const { return shards_; }

 private:
  std::string index_path_;
  std::vector<std::unique_ptr<SafetensorsFile>> shards_;  // sorted by file name
  std::vector<size_t> shard_of_;  // shard_of_[i] holds names()[i]
};

}  // namespace osp::io
