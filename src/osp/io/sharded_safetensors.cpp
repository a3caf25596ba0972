#include "osp/io/sharded_safetensors.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>

#include "osp/core/error.h"
#include "osp/io/json_file.h"

namespace osp::io {
namespace {

namespace fs = std::filesystem;

// An index is untrusted too: a shard name like "../../etc/x" or "/abs" must not reach outside.
void check_shard_name(const std::string& shard, const std::string& index_path) {
  const fs::path p(shard);
  bool escapes = shard.empty() || p.is_absolute();
  for (const fs::path& part : p) escapes = escapes || part == "..";
  if (escapes) fail_about(index_path, "shard path '{}' leaves the index's directory", shard);
}

// tensor -> shard file, from `weight_map`.
std::map<std::string, std::string> read_weight_map(const std::string& index_path) {
  const nlohmann::json index = read_json_file(index_path);
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
    fail_about(index_path, "has no 'weight_map' object");
  }
  std::map<std::string, std::string> map;
  for (const auto& [tensor, shard] : index["weight_map"].items()) {
    if (!shard.is_string()) fail_about(index_path, "weight_map entry '{}' is not a file name", tensor);
    check_shard_name(shard.get<std::string>(), index_path);
    map.emplace(tensor, shard.get<std::string>());
  }
  if (map.empty()) fail_about(index_path, "weight_map is empty");
  return map;
}

}  // namespace

ShardedSafetensors::ShardedSafetensors(const std::string& index_path) : index_path_(index_path) {
  const std::map<std::string, std::string> weight_map = read_weight_map(index_path);
  std::map<std::string, size_t> shard_index;  // sorted file names: first shard first
  for (const auto& [tensor, shard] : weight_map) shard_index.emplace(shard, 0);
  const fs::path dir = fs::path(index_path).parent_path();
  for (auto& [shard, i] : shard_index) {
    const fs::path shard_path = dir / shard;
    if (!fs::is_regular_file(shard_path)) fail_about(index_path, "shard '{}' does not exist", shard_path.string());
    i = shards_.size();
    shards_.push_back(std::make_unique<SafetensorsFile>(shard_path.string()));
  }
  for (const auto& [tensor, shard] : weight_map) {
    if (!shards_[shard_index.at(shard)]->contains(tensor)) {
      fail_about(index_path, "tensor '{}' is mapped to shard '{}', which does not hold it", tensor, shard);
    }
  }
  // Names in file order: shard by shard, each in its data order; tensors the map omits are not
  // part of the set (loaders follow the map).
  for (size_t s = 0; s < shards_.size(); ++s) {
    for (const std::string& name : shards_[s]->names()) {
      auto it = weight_map.find(name);
      if (it == weight_map.end() || shard_index.at(it->second) != s) continue;
      add(name, shards_[s]->meta(name));
      shard_of_.push_back(s);
    }
  }
}

at::Tensor ShardedSafetensors::load_rows(const std::string& name, const std::vector<int64_t>& rows,
                                        std::optional<c10::ScalarType> dtype) const {
  return shards_[shard_of_[index_of(name)]]->load_rows(name, rows, dtype);
}

void ShardedSafetensors::will_need(const std::string& name) const {
  shards_[shard_of_[index_of(name)]]->will_need(name);
}

at::Tensor ShardedSafetensors::load(const std::string& name, std::optional<c10::ScalarType> dtype) const {
  return shards_[shard_of_[index_of(name)]]->load(name, dtype);
}

std::string ShardedSafetensors::format() const {
  return fmt::format("sharded safetensors ({} files)", shards_.size());
}

}  // namespace osp::io
