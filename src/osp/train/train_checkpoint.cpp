#include "osp/train/train_checkpoint.h"

#include <ATen/core/grad_mode.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <optional>

#include "osp/core/error.h"
#include "osp/core/shape.h"
#include "osp/io/atomic_file.h"
#include "osp/io/json_file.h"
#include "osp/io/safetensors_writer.h"
#include "osp/io/tensor_source.h"

namespace osp::train {
namespace {

namespace fs = std::filesystem;

std::string step_folder_name(int64_t step) { return fmt::format("step-{:08d}", step); }

NamedTensors contiguous_cpu(const NamedTensors& tensors) {
  NamedTensors out;
  for (const auto& [name, t] : tensors) out.emplace_back(name, t.detach().to(at::kCPU).contiguous());
  return out;
}

NamedTensors read_all(const std::unique_ptr<io::TensorSource>& source) {
  NamedTensors out;
  for (const auto& name : source->names()) out.emplace_back(name, source->load(name));
  return out;
}

std::string rank_file(int rank, int ranks) { return fmt::format("shards/rank-{:05d}-of-{:05d}.safetensors", rank, ranks); }

// The four tensors a rank stores per shard, and where their whole tensors go in a checkpoint.
struct ShardKind {
  const char* key_suffix;   // in the rank file: "<shard><key_suffix>"
  const char* name_suffix;  // in the whole tensors: "<name><name_suffix>"
  NamedTensors TrainCheckpoint::*into;
};
constexpr ShardKind kShardKinds[] = {{"", "", &TrainCheckpoint::model},
                                     {".ema", "", &TrainCheckpoint::ema},
                                     {".exp_avg", ".exp_avg", &TrainCheckpoint::optimizer},
                                     {".exp_avg_sq", ".exp_avg_sq", &TrainCheckpoint::optimizer}};

nlohmann::json index_json(const std::vector<parallel::ShardLayout>& layout, int ranks) {
  nlohmann::json shards = nlohmann::json::array();
  for (const auto& l : layout) {
    nlohmann::json tensors = nlohmann::json::array();
    for (const auto& [name, shape] : l.tensors) tensors.push_back({{"name", name}, {"shape", shape}});
    shards.push_back({{"shard", l.shard}, {"chunk", l.chunk}, {"tensors", tensors}});
  }
  return {{"format", "osp-train-shards"}, {"version", 1}, {"ranks", ranks}, {"shards", shards}};
}

std::vector<parallel::ShardLayout> parse_layout(const nlohmann::json& shards) {
  std::vector<parallel::ShardLayout> out;
  for (const auto& shard : shards) {
    parallel::ShardLayout l;
    l.shard = shard.at("shard").get<std::string>();
    l.chunk = shard.at("chunk").get<int64_t>();
    for (const auto& t : shard.at("tensors")) {
      l.tensors.emplace_back(t.at("name").get<std::string>(), t.at("shape").get<std::vector<int64_t>>());
    }
    out.push_back(std::move(l));
  }
  return out;
}

ShardIndex read_index(const fs::path& dir) {
  ShardIndex index;
  index.folder = dir.string();
  const nlohmann::json j = io::read_json_object_file((dir / "index.json").string(), "shard index");
  try {
    index.ranks = j.at("ranks").get<int>();
    index.layout = parse_layout(j.at("shards"));
  } catch (const nlohmann::json::exception& e) {
    fail_about((dir / "index.json").string(), "broken shard index: {}", e.what());
  }
  if (index.ranks < 1) fail_about((dir / "index.json").string(), "ranks must be at least 1, got {}", index.ranks);
  return index;
}

// The whole tensors of a sharded checkpoint into c (every rank's file is read).
void assemble_shards(const ShardIndex& index, TrainCheckpoint& c) {
  std::vector<std::unique_ptr<io::TensorSource>> files;
  for (int r = 0; r < index.ranks; ++r) files.push_back(open_rank_file(index, r));
  for (const parallel::ShardLayout& shard : index.layout) {
    for (const ShardKind& kind : kShardKinds) {
      std::vector<at::Tensor> parts;
      for (const auto& file : files) parts.push_back(file->load(shard.shard + kind.key_suffix).reshape(-1));
      const at::Tensor flat = at::cat(parts);
      int64_t offset = 0;
      for (const auto& [name, shape] : shard.tensors) {
        const int64_t numel = c10::multiply_integers(shape);
        if (offset + numel > flat.numel()) fail_about(shard.shard, "the shards hold fewer elements than index.json lists");
        (c.*kind.into).emplace_back(name + kind.name_suffix, flat.narrow(0, offset, numel).view(shape).clone());
        offset += numel;
      }
    }
  }
}

bool is_checkpoint(const fs::path& dir) { return fs::exists(dir / "state.json"); }

// The checkpoint folder `path` names: itself, or the newest step-* inside it or its checkpoints/.
fs::path find_checkpoint(const std::string& path) {
  const fs::path p(path);
  if (!fs::is_directory(p)) fail_about(path, "no such checkpoint folder");
  if (is_checkpoint(p)) return p;
  for (const fs::path& dir : {p / "checkpoints", p}) {
    if (!fs::is_directory(dir)) continue;
    std::optional<fs::path> latest;
    for (const auto& entry : fs::directory_iterator(dir)) {
      const std::string name = entry.path().filename().string();
      if (entry.is_directory() && name.rfind("step-", 0) == 0 && name.find(".tmp") == std::string::npos &&
          is_checkpoint(entry.path()) && (!latest || name > latest->filename().string())) {
        latest = entry.path();
      }
    }
    if (latest) return *latest;
  }
  fail_about(path, "holds no checkpoint (no state.json, no checkpoints/step-* folder)");
}

// Writes the metadata files of `c` into `dir` (config, state, the objective's files).
void write_metadata(const fs::path& dir, const TrainCheckpoint& c) {
  io::write_file_atomically((dir / "config.json").string(), c.model_config.dump(2) + "\n");
  const nlohmann::json state = {{"step", c.step},
                                {"data", {{"epoch", c.data_epoch}, {"cursor", c.data_cursor}}},
                                {"rng", {{"seed", c.seed}, {"samples_drawn", c.samples_drawn}}}};
  io::write_file_atomically((dir / "state.json").string(), state.dump(2) + "\n");
  for (const auto& [name, contents] : c.extra_files) io::write_file_atomically((dir / name).string(), contents);
}

// A fresh, empty temporary folder.
void make_empty(const fs::path& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  if (ec) fail_about(dir.string(), "cannot create the checkpoint folder: {}", ec.message());
}

// Replaces an older copy of the same step (a rerun), then renames the finished folder into place.
std::string move_into_place(const fs::path& tmp_dir, const fs::path& final_dir) {
  std::error_code ec;
  fs::remove_all(final_dir, ec);
  fs::rename(tmp_dir, final_dir, ec);
  if (ec) fail_about(final_dir.string(), "cannot move the checkpoint into place: {}", ec.message());
  io::sync_parent_directory(final_dir.string());
  return final_dir.string();
}

}  // namespace

void copy_by_name(const NamedTensors& from, const std::string& name, const at::Tensor& into, const std::string& what) {
  for (const auto& [key, value] : from) {
    if (key != name) continue;
    if (!value.sizes().equals(into.sizes())) {
      fail_about(name, "{} has shape {}, expected {}", what, shape_string(value.sizes()), shape_string(into.sizes()));
    }
    at::NoGradGuard no_grad;
    into.detach().copy_(value);
    return;
  }
  fail_about(name, "{} is missing from the checkpoint", what);
}

std::string save_checkpoint(const std::string& output_dir, const TrainCheckpoint& c) {
  const fs::path root = fs::path(output_dir) / "checkpoints";
  const fs::path tmp_dir = root / (step_folder_name(c.step) + ".tmp." + std::to_string(::getpid()));
  make_empty(tmp_dir);
  io::write_safetensors((tmp_dir / "model.safetensors").string(), contiguous_cpu(c.model));
  io::write_safetensors((tmp_dir / "ema.safetensors").string(), contiguous_cpu(c.ema));
  io::write_safetensors((tmp_dir / "optimizer.safetensors").string(), contiguous_cpu(c.optimizer));
  write_metadata(tmp_dir, c);
  return move_into_place(tmp_dir, root / step_folder_name(c.step));
}

std::string save_sharded_checkpoint(const std::string& output_dir, const TrainCheckpoint& c,
                                    const std::vector<parallel::ShardLayout>& layout, const NamedTensors& shards,
                                    int rank, int ranks, const std::function<void()>& barrier) {
  const fs::path root = fs::path(output_dir) / "checkpoints";
  // One name for every rank (they may be processes on other hosts sharing the folder).
  const fs::path tmp_dir = root / (step_folder_name(c.step) + ".tmp.sharded");
  if (rank == 0) make_empty(tmp_dir / "shards");
  barrier();
  io::write_safetensors((tmp_dir / rank_file(rank, ranks)).string(), contiguous_cpu(shards));
  barrier();  // every rank's file is complete
  std::string final_dir = (root / step_folder_name(c.step)).string();
  if (rank == 0) {
    io::write_file_atomically((tmp_dir / "index.json").string(), index_json(layout, ranks).dump(2) + "\n");
    write_metadata(tmp_dir, c);
    move_into_place(tmp_dir, final_dir);
  }
  barrier();
  return final_dir;
}

std::optional<ShardIndex> read_shard_index(const std::string& path) {
  const fs::path dir = find_checkpoint(path);
  if (!fs::exists(dir / "index.json")) return std::nullopt;
  return read_index(dir);
}

std::unique_ptr<io::TensorSource> open_rank_file(const ShardIndex& index, int rank) {
  const fs::path file = fs::path(index.folder) / rank_file(rank, index.ranks);
  if (!fs::exists(file)) fail_about(file.string(), "missing: the checkpoint was written by {} ranks", index.ranks);
  return io::open_tensor_source(file.string());
}

NamedTensors load_rank_shards(const ShardIndex& index, int rank) {
  TORCH_CHECK(rank >= 0 && rank < index.ranks, "load_rank_shards: rank ", rank, " of ", index.ranks);
  return read_all(open_rank_file(index, rank));
}

namespace {

bool same_units(const std::vector<parallel::ShardLayout>& a, const std::vector<parallel::ShardLayout>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].shard != b[i].shard || a[i].tensors != b[i].tensors) return false;
  }
  return true;
}

int64_t flat_numel(const parallel::ShardLayout& shard) {
  int64_t n = 0;
  for (const auto& item : shard.tensors) n += c10::multiply_integers(item.second);
  return n;
}

}  // namespace

std::optional<NamedTensors> read_rank_ranges(const ShardIndex& index, const std::vector<parallel::ShardLayout>& layout,
                                             int rank) {
  if (!same_units(index.layout, layout)) return std::nullopt;
  std::map<int, std::unique_ptr<io::TensorSource>> files;  // the old ranks this rank reads from
  NamedTensors out;
  for (size_t i = 0; i < layout.size(); ++i) {
    const int64_t total = flat_numel(layout[i]), chunk = layout[i].chunk, old_chunk = index.layout[i].chunk;
    const int64_t lo = std::min(total, rank * chunk), hi = std::min(total, (rank + 1) * chunk);
    for (const ShardKind& kind : kShardKinds) {
      at::Tensor mine = at::zeros({chunk}, at::kFloat);
      // Old rank k held [k·old_chunk, (k+1)·old_chunk): copy its overlap with [lo, hi).
      for (int64_t k = lo / std::max<int64_t>(old_chunk, 1); k * old_chunk < hi; ++k) {
        if (k >= index.ranks) fail_about(index.folder, "{}: the shards hold fewer elements than index.json lists", layout[i].shard);
        auto& file = files[static_cast<int>(k)];
        if (!file) file = open_rank_file(index, static_cast<int>(k));
        const at::Tensor held = file->load(layout[i].shard + kind.key_suffix).reshape(-1);
        if (held.numel() != old_chunk) fail_about(file->path(), "{}: {} elements, index.json says {}", layout[i].shard, held.numel(), old_chunk);
        const int64_t from = std::max(lo, k * old_chunk), to = std::min(hi, (k + 1) * old_chunk);
        mine.narrow(0, from - lo, to - from).copy_(held.narrow(0, from - k * old_chunk, to - from));
      }
      out.emplace_back(layout[i].shard + kind.key_suffix, std::move(mine));
    }
  }
  return out;
}

TrainCheckpoint load_checkpoint(const std::string& path, bool whole_tensors) {
  const fs::path dir = find_checkpoint(path);
  TrainCheckpoint c;
  const nlohmann::json state = io::read_json_object_file((dir / "state.json").string(), "checkpoint state");
  c.model_config = io::read_json_object_file((dir / "config.json").string(), "checkpoint model config");
  try {
    c.step = state.at("step").get<int64_t>();
    c.data_epoch = state.at("data").at("epoch").get<int64_t>();
    c.data_cursor = state.at("data").at("cursor").get<int64_t>();
    c.seed = state.at("rng").at("seed").get<uint64_t>();
    c.samples_drawn = state.at("rng").at("samples_drawn").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    fail_about(dir.string(), "broken checkpoint state (state.json): {}", e.what());
  }
  if (whole_tensors && fs::exists(dir / "index.json")) {
    assemble_shards(read_index(dir), c);
  } else if (whole_tensors) {
    c.model = read_all(io::open_tensor_source((dir / "model.safetensors").string()));
    c.ema = read_all(io::open_tensor_source((dir / "ema.safetensors").string()));
    c.optimizer = read_all(io::open_tensor_source((dir / "optimizer.safetensors").string()));
  }
  // Files an objective added (small JSON files beside the standard ones).
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || entry.path().extension() != ".json" || name == "config.json" || name == "state.json" ||
        name == "index.json") {
      continue;
    }
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    c.extra_files[name] = text.str();
  }
  return c;
}

}  // namespace osp::train
