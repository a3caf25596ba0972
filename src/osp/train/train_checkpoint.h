#pragma once
// Training checkpoints: one folder per saved step under <output_dir>/checkpoints/,
//   step-NNNNNNNN/model.safetensors      trained weights, float32, canonical Wan names
//                 ema.safetensors        EMA weights, same names
//                 optimizer.safetensors  AdamW moments ("<name>.exp_avg", "<name>.exp_avg_sq")
//                 config.json            the model config (the folder loads as that model: weights + config)
//                 state.json             step, data position, the random-number state, seed
//                 …                      files the objective adds (a LoRA's adapter_config.json)
// The random-number state is a counter: every training sample draws its caption-dropout coin, σ
// and noise from a generator keyed by (seed, the sample's serial number), so (seed, samples
// drawn) is the whole state of the trainer's randomness.
// The folder is written under a temporary name and renamed into place, so a crash never leaves
// a partial checkpoint that --resume would pick up.
//
// A fully sharded run writes a sharded checkpoint instead of the three tensor files: every rank
// its own shards,
//   step-NNNNNNNN/shards/rank-RRRRR-of-NNNNN.safetensors   "<shard>" (weights), "<shard>.ema",
//                                                          "<shard>.exp_avg", "<shard>.exp_avg_sq"
//                 index.json   the ranks and, per shard, its chunk and the whole tensors it cuts
// with config.json, state.json and the objective's files as above; the whole folder is renamed
// into place only after every rank wrote its file. Loading assembles the whole tensors from all
// ranks' files, so a sharded checkpoint resumes on any number of ranks and either strategy.
#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <functional>
#include <vector>

#include "osp/io/tensor_source.h"
#include "osp/parallel/training_strategy.h"

namespace osp::train {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

struct TrainCheckpoint {
  NamedTensors model, ema, optimizer;
  nlohmann::json model_config;
  int64_t step = 0;             // optimizer steps done
  int64_t data_epoch = 0, data_cursor = 0;
  int64_t samples_drawn = 0;  // serial number of the next training sample (the RNG counter)
  uint64_t seed = 0;
  // file name → contents, written beside the others (loading reads back every other *.json file)
  std::map<std::string, std::string> extra_files;
};

// Copies the tensor `name` of `from` into `into` (same shape), or throws osp::Error naming the
// tensor and `what` ("optimizer state", "EMA weight", …) when it is missing or has another shape.
void copy_by_name(const NamedTensors& from, const std::string& name, const at::Tensor& into, const std::string& what);

// Writes <output_dir>/checkpoints/step-NNNNNNNN atomically; returns its path.
std::string save_checkpoint(const std::string& output_dir, const TrainCheckpoint& checkpoint);

// Writes a sharded checkpoint, called by every rank with its `shards` (named as above) and the
// strategy's `layout`; `barrier` synchronizes the ranks (a collective). Rank 0 writes the metadata
// of `checkpoint` (its tensor lists are ignored) and moves the folder into place. Returns its path.
std::string save_sharded_checkpoint(const std::string& output_dir, const TrainCheckpoint& checkpoint,
                                    const std::vector<parallel::ShardLayout>& layout, const NamedTensors& shards,
                                    int rank, int ranks, const std::function<void()>& barrier);

// Reads a checkpoint folder, or the latest step-* folder of an output directory (or of its
// checkpoints/ folder). osp::Error naming the folder or file when none or a broken one is found.
// `whole_tensors` false: the metadata only (model, ema and optimizer stay empty).
TrainCheckpoint load_checkpoint(const std::string& path, bool whole_tensors = true);

// The index of the sharded checkpoint `path` names (as load_checkpoint finds it); nullopt for a
// checkpoint of whole tensors.
struct ShardIndex {
  std::string folder;  // the checkpoint folder
  int ranks = 0;
  std::vector<parallel::ShardLayout> layout;
};
std::optional<ShardIndex> read_shard_index(const std::string& path);
// One rank's file of a sharded checkpoint, opened (mapped), and all of it loaded: "<shard>",
// "<shard>.ema", "<shard>.exp_avg", …
std::unique_ptr<io::TensorSource> open_rank_file(const ShardIndex& index, int rank);
NamedTensors load_rank_shards(const ShardIndex& index, int rank);

// Rank `rank`'s shards under another number of ranks (`layout`: the new flat shards, same units,
// tensors and order as the index's, another chunk), read range by range from the old ranks' files
// (each old file mapped; no whole tensor assembled): "<shard>", "<shard>.ema", "<shard>.exp_avg",
// "<shard>.exp_avg_sq" per shard, zero-padded past the end as the strategy lays them out.
// std::nullopt when the units differ (another model or trained set): reshard whole tensors then.
std::optional<NamedTensors> read_rank_ranges(const ShardIndex& index, const std::vector<parallel::ShardLayout>& layout,
                                             int rank);

}  // namespace osp::train
