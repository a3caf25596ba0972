#pragma once
// Progress reports and cancellation for one library request (include/osp/pipeline.h). Under a
// launcher the ranks agree at every collective check (a one-number all-reduce of their tokens): a
// token set on one rank between two checks would otherwise stop that rank one step before the
// others, which would then wait in the DiT's collectives for a partner that left.
#include <ATen/ATen.h>

#include <chrono>
#include <optional>
#include <string>

#include "osp/diffusion/velocity.h"
#include "osp/models/vae/latent_preview.h"
#include "osp/parallel/world.h"
#include "osp/pipeline.h"

namespace osp::api {

class RequestMonitor {
 public:
  RequestMonitor(const Callbacks& callbacks, const CancelToken* cancel, const parallel::World* world);

  // Collective under a launcher (every rank calls it at the same point): throws kCancelled when
  // any rank's token is set.
  void check(const std::string& stage) const;
  // This process's token only: where only some ranks run (the writing rank's decode).
  void check_local(const std::string& stage) const;
  void report(const std::string& stage, int64_t step, int64_t total, size_t request = 0) const;
  // After a sampling step: the picture of x̂0 = x − σ·v (flow matching's clean estimate).
  void preview(const std::optional<vae::LatentPreview>& map, const at::Tensor& x, const at::Tensor& v,
               const diffusion::StepInfo& step) const;
  bool cancelled_locally() const { return cancel_ != nullptr && cancel_->cancelled(); }

 private:
  const Callbacks& callbacks_;
  const CancelToken* cancel_;
  const parallel::World* world_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace osp::api
