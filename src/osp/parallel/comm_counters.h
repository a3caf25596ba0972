#pragma once
// Counters of collectives and bytes by where they happen (`--comm-stats`), so that the per-block
// traffic of Ulysses and SSP (docs/skiparse.md "Communication volume") can be read off a real run.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace osp::parallel {

// Where a collective is issued. Block sites are attributed by the block being run (the switch before a sparse
// block counts for that block); entry/exit are the sparse-region transitions ("Entering the sparse region",
// "Leaving the sparse region"); output is the final gather before the head's unpatchify; weights are the
// per-block all-gathers of weight sharding; cfg the classifier-free-guidance combine.
enum class CommSite { kFullBlock, kSparseBlock, kEnter, kLeave, kOutput, kWeights, kCfg, kOther };
constexpr int kCommSites = 8;
const char* site_name(CommSite site);

struct CommCount {
  int64_t collectives = 0;
  int64_t bytes_sent = 0;     // bytes this rank hands to the collective (its send buffer)
  int64_t bytes_off_rank = 0;  // of those, bytes that leave the rank (all-to-all: (S−1)/S; all-gather: S−1 copies)
  double seconds = 0.0;        // wall time inside the collectives (waits included)
};

class CommCounters {
 public:
  // The site of collectives issued from now on (a scope: see SiteScope).
  CommSite site() const { return site_; }
  void set_site(CommSite site) { site_ = site; }
  // Block index the traffic is charged to (−1 outside blocks).
  void set_block(int64_t block) { block_ = block; }
  int64_t block() const { return block_; }

  void record(int64_t bytes_sent, int64_t bytes_off_rank, double seconds);
  // A block of this site ran once (for per-block averages).
  void count_block(CommSite site) { ++blocks_[static_cast<int>(site)]; }

  const CommCount& at(CommSite site) const { return totals_[static_cast<int>(site)]; }
  int64_t blocks(CommSite site) const { return blocks_[static_cast<int>(site)]; }
  // Per block index (collectives and bytes of block n, including the transform before it).
  const std::vector<CommCount>& per_block() const { return per_block_; }
  void reset();

  // Table "site  collectives  per block  MiB sent  MiB off-rank  per block  seconds".
  std::string format() const;

 private:
  CommSite site_ = CommSite::kOther;
  int64_t block_ = -1;
  std::array<CommCount, kCommSites> totals_{};
  std::array<int64_t, kCommSites> blocks_{};
  std::vector<CommCount> per_block_;
};

// Sets the site for a scope and restores the previous one.
class SiteScope {
 public:
  SiteScope(CommCounters* counters, CommSite site) : counters_(counters) {
    if (counters_) {
      previous_ = counters_->site();
      counters_->set_site(site);
    }
  }
  ~SiteScope() {
    if (counters_) counters_->set_site(previous_);
  }
  SiteScope(const SiteScope&) = delete;
  SiteScope& operator=(const SiteScope&) = delete;

 private:
  CommCounters* counters_;
  CommSite previous_ = CommSite::kOther;
};

}  // namespace osp::parallel
