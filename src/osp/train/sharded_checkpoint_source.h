#pragma once
// The whole weights (or EMA weights) of a training checkpoint as a TensorSource, so that `osp
// convert` turns a checkpoint into one safetensors file that `osp generate --dit` reads. A sharded
// checkpoint (train_checkpoint.h) is consolidated one shard unit at a time: a unit's pieces are
// read from every rank's mapped file and cut into the whole tensors the index lists, so memory
// holds one unit (a block), not the model, and optimizer moments are never read.
#include <memory>
#include <string>
#include <unordered_map>

#include "osp/io/tensor_source.h"
#include "osp/train/train_checkpoint.h"

namespace osp::train {

class ShardedCheckpointSource : public io::TensorSource {
 public:
  // Checks the index against the rank files (every piece holds `chunk` float32 values and the
  // listed tensors fit in the units) before anything is loaded; osp::Error naming the file.
  ShardedCheckpointSource(ShardIndex index, bool ema);

  const std::vector<std::string>& names() const override { return names_; }
  const io::TensorMeta& meta(const std::string& name) const override;
  bool contains(const std::string& name) const override { return where_.count(name) != 0; }
  at::Tensor load(const std::string& name, std::optional<c10::ScalarType> dtype = std::nullopt) const override;
  std::string format() const override;
  std::string path() const override { return index_.folder; }

 private:
  struct Place {
    size_t unit = 0;
    int64_t offset = 0;  // in the unit's flat values
  };
  // The whole flat values of unit u (the last one read is kept).
  const at::Tensor& unit_values(size_t u) const;

  ShardIndex index_;
  std::string key_suffix_;  // "" (weights) or ".ema"
  std::vector<std::unique_ptr<io::TensorSource>> files_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, Place> where_;
  std::unordered_map<std::string, io::TensorMeta> meta_;
  mutable size_t cached_unit_ = SIZE_MAX;
  mutable at::Tensor cached_;
};

// The weights of the training checkpoint folder `path` (one with state.json): a sharded one
// consolidated as above, else its model.safetensors or ema.safetensors. nullptr when `path` is not
// a training checkpoint folder.
std::shared_ptr<io::TensorSource> open_checkpoint_weights(const std::string& path, bool ema);

}  // namespace osp::train
