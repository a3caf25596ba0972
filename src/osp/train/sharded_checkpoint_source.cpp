#include "osp/train/sharded_checkpoint_source.h"

#include <fmt/format.h>

#include <filesystem>

#include "osp/core/error.h"
#include "osp/io/torch_dtype.h"

namespace osp::train {

namespace fs = std::filesystem;

ShardedCheckpointSource::ShardedCheckpointSource(ShardIndex index, bool ema)
    : index_(std::move(index)), key_suffix_(ema ? ".ema" : "") {
  for (int r = 0; r < index_.ranks; ++r) files_.push_back(open_rank_file(index_, r));
  for (size_t u = 0; u < index_.layout.size(); ++u) {
    const parallel::ShardLayout& unit = index_.layout[u];
    const std::string key = unit.shard + key_suffix_;
    for (const auto& file : files_) {
      const io::TensorMeta& piece = file->meta(key);  // names the file when absent
      if (piece.dtype != io::DType::kF32 || piece.numel() != unit.chunk) {
        fail_about(file->path(), "'{}' holds {} values of {}, the index says {} float32 values", key, piece.numel(),
                   io::dtype_name(piece.dtype), unit.chunk);
      }
    }
    int64_t offset = 0;
    for (const auto& [name, shape] : unit.tensors) {
      int64_t numel = 1;
      for (const int64_t d : shape) {
        if (d < 0 || (d > 0 && numel > (int64_t{1} << 40) / d)) fail_about(index_.folder, "'{}' has an impossible shape", name);
        numel *= d;
      }
      if (offset + numel > unit.chunk * index_.ranks) {
        fail_about(index_.folder, "index.json lists more values in unit '{}' than its shards hold", unit.shard);
      }
      if (where_.count(name)) fail_about(index_.folder, "index.json lists '{}' twice", name);
      names_.push_back(name);
      where_[name] = {u, offset};
      meta_[name] = io::TensorMeta{io::DType::kF32, shape, index_.folder};
      offset += numel;
    }
  }
}

const io::TensorMeta& ShardedCheckpointSource::meta(const std::string& name) const {
  const auto it = meta_.find(name);
  if (it == meta_.end()) fail_about(index_.folder, "no tensor '{}' in this checkpoint", name);
  return it->second;
}

const at::Tensor& ShardedCheckpointSource::unit_values(size_t u) const {
  if (cached_unit_ != u) {
    cached_ = at::Tensor();  // the previous unit goes before the next one is read
    std::vector<at::Tensor> pieces;
    for (const auto& file : files_) pieces.push_back(file->load(index_.layout[u].shard + key_suffix_).reshape(-1));
    cached_ = at::cat(pieces);
    cached_unit_ = u;
  }
  return cached_;
}

at::Tensor ShardedCheckpointSource::load(const std::string& name, std::optional<c10::ScalarType> dtype) const {
  const io::TensorMeta& m = meta(name);
  const Place& place = where_.at(name);
  at::Tensor t = unit_values(place.unit).narrow(0, place.offset, m.numel()).view(m.shape).clone();
  return dtype && *dtype != t.scalar_type() ? t.to(*dtype) : t;
}

std::string ShardedCheckpointSource::format() const {
  return fmt::format("sharded training checkpoint ({} ranks, {})", index_.ranks, key_suffix_.empty() ? "weights" : "EMA weights");
}

std::shared_ptr<io::TensorSource> open_checkpoint_weights(const std::string& path, bool ema) {
  if (!fs::exists(fs::path(path) / "state.json")) return nullptr;
  if (std::optional<ShardIndex> index = read_shard_index(path)) {
    return std::make_shared<ShardedCheckpointSource>(std::move(*index), ema);
  }
  return io::open_tensor_source((fs::path(path) / (ema ? "ema.safetensors" : "model.safetensors")).string());
}

}  // namespace osp::train
