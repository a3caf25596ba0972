#include "osp/models/dit/schedule.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace osp::dit {

std::vector<BlockKind> block_schedule(const DiTConfig& config) {
  config.validate();
  const int64_t layers = config.num_layers;
  std::vector<BlockKind> kinds(static_cast<size_t>(layers), BlockKind::kFull);
  if (!config.is_sparse()) return kinds;
  const int64_t half = config.num_full_blocks / 2;
  for (int64_t i = half; i < layers - half; ++i)
    kinds[static_cast<size_t>(i)] = (i % 2 == 0) ? BlockKind::kToken : BlockKind::kGroup;
  return kinds;
}

namespace {

// "4,6,…,34" for a long list, the whole list when short.
std::string index_list(const std::vector<int64_t>& indices) {
  if (indices.size() > 4)
    return fmt::format("{},{},…,{}", indices[0], indices[1], indices.back());
  return fmt::format("{}", fmt::join(indices, ","));
}

// "0-3,36-39": runs of consecutive indices.
std::string range_list(const std::vector<int64_t>& indices) {
  std::vector<std::string> runs;
  for (size_t i = 0; i < indices.size();) {
    size_t j = i;
    while (j + 1 < indices.size() && indices[j + 1] == indices[j] + 1) ++j;
    runs.push_back(i == j ? fmt::format("{}", indices[i]) : fmt::format("{}-{}", indices[i], indices[j]));
    i = j + 1;
  }
  return fmt::format("{}", fmt::join(runs, ","));
}

}  // namespace

std::string describe_schedule(const DiTConfig& config) {
  std::vector<BlockKind> kinds = block_schedule(config);
  if (!config.is_sparse()) return fmt::format("{} full", kinds.size());
  std::vector<int64_t> full, token, group;
  for (size_t i = 0; i < kinds.size(); ++i) {
    auto index = static_cast<int64_t>(i);
    (kinds[i] == BlockKind::kFull ? full : kinds[i] == BlockKind::kToken ? token : group).push_back(index);
  }
  std::vector<std::string> parts;
  if (!full.empty()) parts.push_back(fmt::format("full x{} ({})", full.size(), range_list(full)));
  parts.push_back(fmt::format("token x{} ({})", token.size(), index_list(token)));
  parts.push_back(fmt::format("group x{} ({})", group.size(), index_list(group)));
  return fmt::format("{} P={}: {}", config.skiparse_model_type, config.sparse_ratio, fmt::join(parts, "; "));
}

}  // namespace osp::dit
