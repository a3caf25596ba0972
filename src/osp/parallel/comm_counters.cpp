#include "osp/parallel/comm_counters.h"

#include <fmt/format.h>

namespace osp::parallel {

const char* site_name(CommSite site) {
  switch (site) {
    case CommSite::kFullBlock: return "full block";
    case CommSite::kSparseBlock: return "sparse block";
    case CommSite::kEnter: return "enter sparse";
    case CommSite::kLeave: return "leave sparse";
    case CommSite::kOutput: return "output gather";
    case CommSite::kWeights: return "weight gather";
    case CommSite::kCfg: return "cfg combine";
    case CommSite::kOther: return "other";
  }
  return "?";
}

void CommCounters::record(int64_t bytes_sent, int64_t bytes_off_rank, double seconds) {
  const auto add = [&](CommCount& c) {
    ++c.collectives;
    c.bytes_sent += bytes_sent;
    c.bytes_off_rank += bytes_off_rank;
    c.seconds += seconds;
  };
  add(totals_[static_cast<int>(site_)]);
  if (block_ >= 0 && (site_ == CommSite::kFullBlock || site_ == CommSite::kSparseBlock)) {
    if (per_block_.size() <= static_cast<size_t>(block_)) per_block_.resize(block_ + 1);
    add(per_block_[block_]);
  }
}

void CommCounters::reset() {
  totals_ = {};
  blocks_ = {};
  per_block_.clear();
}

std::string CommCounters::format() const {
  constexpr double kMiB = 1024.0 * 1024.0;
  std::string text = fmt::format("{:<14} {:>11} {:>9} {:>12} {:>12} {:>14} {:>9}\n", "site", "collectives", "per block",
                                 "MiB sent", "MiB off-rank", "off-rank/block", "seconds");
  for (int s = 0; s < kCommSites; ++s) {
    const CommCount& c = totals_[s];
    if (c.collectives == 0 && blocks_[s] == 0) continue;
    const int64_t blocks = blocks_[s];
    const std::string per_block = blocks > 0 ? fmt::format("{:.2f}", static_cast<double>(c.collectives) / blocks) : "-";
    const std::string off_per_block =
        blocks > 0 ? fmt::format("{:.3f}", c.bytes_off_rank / kMiB / static_cast<double>(blocks)) : "-";
    text += fmt::format("{:<14} {:>11} {:>9} {:>12.3f} {:>12.3f} {:>14} {:>9.3f}\n", site_name(static_cast<CommSite>(s)),
                        c.collectives, per_block, c.bytes_sent / kMiB, c.bytes_off_rank / kMiB, off_per_block, c.seconds);
  }
  return text;
}

}  // namespace osp::parallel
