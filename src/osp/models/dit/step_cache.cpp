#include "osp/models/dit/step_cache.h"

#include <cmath>

#include "osp/core/error.h"
#include "osp/models/dit/schedule.h"

namespace osp::dit {

void check_step_cache(double threshold, const DiTConfig& config, const std::string& field) {
  if (!(threshold > 0) || !std::isfinite(threshold)) fail_about(field, "must be a positive threshold, got {}", threshold);
  if (block_schedule(config).front() != BlockKind::kFull) {
    fail_about(field, "needs a DiT whose block 0 attends fully; this one starts in its Skiparse region");
  }
}

StepCache::StepCache(double threshold) : threshold_(threshold) {
  if (!(threshold > 0) || !std::isfinite(threshold)) {
    fail("step cache: the threshold must be a positive number, got {}", threshold);
  }
}

namespace {

// mean |x| accumulated in float64 (a ratio of two such means decides; float32 sums over millions of
// elements would drift).
double mean_abs(const at::Tensor& x) { return x.abs().sum(at::kDouble).item<double>() / static_cast<double>(x.numel()); }

}  // namespace

bool StepCache::can_skip(const at::Tensor& before, const at::Tensor& after) {
  candidate_ = after.to(at::kFloat) - before.to(at::kFloat);
  if (!first_residual_.defined() || !first_residual_.sizes().equals(candidate_.sizes())) return false;
  const double reference = mean_abs(first_residual_);
  const double change = mean_abs(candidate_ - first_residual_);
  last_change_ = reference > 0 ? change / reference : (change > 0 ? INFINITY : 0.0);
  if (last_change_ >= threshold_) return false;
  ++skipped_;
  return true;
}

at::Tensor StepCache::skip(const at::Tensor& after_first) const {
  return after_first.to(at::kFloat) + rest_residual_;
}

void StepCache::store(const at::Tensor& after_first, const at::Tensor& after_last) {
  first_residual_ = candidate_;
  rest_residual_ = after_last.to(at::kFloat) - after_first.to(at::kFloat);
  ++computed_;
}

}  // namespace osp::dit
