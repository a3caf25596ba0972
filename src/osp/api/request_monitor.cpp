#include "osp/api/request_monitor.h"

#include "osp/api/error_category.h"

namespace osp::api {

RequestMonitor::RequestMonitor(const Callbacks& callbacks, const CancelToken* cancel, const parallel::World* world)
    : callbacks_(callbacks), cancel_(cancel), world_(world) {}

void RequestMonitor::check(const std::string& stage) const {
  bool cancelled = cancelled_locally();
  if (world_ != nullptr && world_->size() > 1) {
    at::Tensor votes = at::full({1}, cancelled ? 1.0f : 0.0f);
    world_->global().all_reduce_sum(votes);
    cancelled = votes.item<float>() > 0;
  }
  if (cancelled) throw_cancelled(stage);
}

void RequestMonitor::check_local(const std::string& stage) const {
  if (cancelled_locally()) throw_cancelled(stage);
}

void RequestMonitor::report(const std::string& stage, int64_t step, int64_t total, size_t request) const {
  if (!callbacks_.on_progress) return;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  ProgressEvent event;
  event.stage = stage;
  event.request = request;
  event.step = step;
  event.total = total;
  event.elapsed = elapsed;
  callbacks_.on_progress(event);
}

void RequestMonitor::preview(const std::optional<vae::LatentPreview>& map, const at::Tensor& x, const at::Tensor& v,
                             const diffusion::StepInfo& step) const {
  if (!callbacks_.on_preview || !map) return;
  at::Tensor estimate = (x.to(at::kFloat) - step.sigma * v.to(at::kFloat));
  if (estimate.dim() == 5) estimate = estimate[0];
  callbacks_.on_preview({step.index + 1, step.steps, vae::preview_rgb(estimate, *map)});
}

}  // namespace osp::api
