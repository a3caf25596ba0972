#pragma once
// The first-block step cache (docs/dit.md "Step cache"): across the steps of one sampling run, a
// branch whose block-0 residual barely moved since the last fully computed step skips blocks
// 1 … L−1 and adds the residual those blocks produced at that step instead. Opt-in
// (`osp generate --step-cache THRESHOLD`); kept per text context, i.e. per guidance branch.
#include <ATen/ATen.h>

#include <cstdint>
#include <string>

#include "osp/models/dit/config.h"

namespace osp::dit {

// Before anything runs: `threshold` is positive and finite, and the DiT's block 0 attends fully.
// osp::Error naming `field` (the flag or request field that set the threshold) otherwise.
void check_step_cache(double threshold, const DiTConfig& config, const std::string& field);

class StepCache {
 public:
  // threshold > 0: the largest relative change of block 0's residual that may skip the rest.
  explicit StepCache(double threshold);

  // Block 0 turned `before` into `after` ([B, L, D], the full layout). True when this step may
  // skip the remaining blocks: a fully computed step has been stored for the same shape and
  //   mean|r − r*| / mean|r*| < threshold,   r = after − before, r* = r at that stored step.
  bool can_skip(const at::Tensor& before, const at::Tensor& after);
  // A skipped step's stream after the last block: block 0's output plus the stored residual.
  at::Tensor skip(const at::Tensor& after_first) const;
  // After a fully computed step: keeps r* (from the last can_skip) and the residual of blocks
  // 1 … L−1, `after_last` − `after_first`.
  void store(const at::Tensor& after_first, const at::Tensor& after_last);

  double threshold() const { return threshold_; }
  int64_t computed() const { return computed_; }
  int64_t skipped() const { return skipped_; }
  // The last relative change can_skip measured (−1 before the first comparison).
  double last_change() const { return last_change_; }

 private:
  double threshold_;
  at::Tensor candidate_;        // r of the step in progress
  at::Tensor first_residual_;   // r* of the stored step
  at::Tensor rest_residual_;    // blocks 1 … L−1 at the stored step
  int64_t computed_ = 0, skipped_ = 0;
  double last_change_ = -1;
};

}  // namespace osp::dit
