#include "osp/rl/adaptive_clip.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "osp/core/error.h"

namespace osp::rl {
namespace {

// A float64 clip denominator offset as torch.nn.utils.clip_grad_norm_ uses.
constexpr double kClipEpsilon = 1e-6;

void require_state(const AdaptiveClipState& s) {
  require(std::isfinite(s.var) && s.var >= 0.0, "adaptive clipping state: var must be finite and ≥ 0, got {}", s.var);
  require(std::isfinite(s.max_norm) && s.max_norm >= 0.0,
          "adaptive clipping state: max_norm must be finite and ≥ 0, got {}", s.max_norm);
  require(!s.initialized || std::isfinite(s.avg), "adaptive clipping state: avg must be finite, got {}", s.avg);
}

double number_field(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !j.at(key).is_number()) {
    fail_about("adaptive clipping state", "field \"{}\" must be a number", key);
  }
  return j.at(key).get<double>();
}

}  // namespace

nlohmann::json AdaptiveClipState::to_json() const {
  return {{"initialized", initialized},
          {"avg", initialized ? nlohmann::json(avg) : nlohmann::json(nullptr)},
          {"var", var},
          {"max_norm", max_norm}};
}

AdaptiveClipState AdaptiveClipState::from_json(const nlohmann::json& j) {
  if (!j.is_object()) fail_about("adaptive clipping state", "must be a JSON object");
  if (!j.contains("initialized") || !j.at("initialized").is_boolean()) {
    fail_about("adaptive clipping state", "field \"initialized\" must be true or false");
  }
  AdaptiveClipState s;
  s.initialized = j.at("initialized").get<bool>();
  s.avg = s.initialized ? number_field(j, "avg") : 0.0;
  s.var = number_field(j, "var");
  s.max_norm = number_field(j, "max_norm");
  require_state(s);
  return s;
}

double global_norm(const std::vector<at::Tensor>& tensors) {
  at::NoGradGuard no_grad;
  double squares = 0.0;
  for (const at::Tensor& t : tensors) {
    if (t.defined()) squares += t.to(at::kDouble).square().sum().item<double>();
  }
  return std::sqrt(squares);
}

void scale_gradients(const std::vector<at::Tensor>& gradients, double scale) {
  at::NoGradGuard no_grad;
  for (const at::Tensor& g : gradients) {
    if (g.defined()) g.mul_(scale);
  }
}

AdaptiveGradClipper::AdaptiveGradClipper(double init_max_grad_norm, double decay) : decay_(decay) {
  if (!(std::isfinite(init_max_grad_norm) && init_max_grad_norm > 0.0)) {
    fail_about("init_max_grad_norm", "must be a positive number, got {}", init_max_grad_norm);
  }
  if (!(decay > 0.0 && decay < 1.0)) fail_about("clip_grad_ema_decay", "must lie in (0, 1), got {}", decay);
  state_.max_norm = init_max_grad_norm;
}

ClipResult AdaptiveGradClipper::observe(double norm) {
  require(std::isfinite(norm) && norm >= 0.0, "adaptive clipping: the gradient norm is {} (not finite)", norm);
  AdaptiveClipState& s = state_;
  if (!s.initialized) {
    // The first norm seeds the statistics, capped by the initial limit (3× leaves room to grow).
    s.avg = std::min(s.max_norm, 3.0 * norm);
    s.var = 0.0;
    s.initialized = true;
  }
  s.max_norm = s.avg + 3.0 * std::sqrt(s.var);

  ClipResult result;
  result.norm = norm;
  result.max_norm = s.max_norm;
  if (norm > s.max_norm) {
    result.clipped = true;
    result.scale = s.max_norm / (norm + kClipEpsilon);
    return result;  // an outlier does not move the statistics
  }
  s.avg = decay_ * s.avg + (1.0 - decay_) * norm;
  const double deviation = s.avg - norm;  // against the updated mean
  s.var = decay_ * s.var + (1.0 - decay_) * deviation * deviation;
  return result;
}

ClipResult AdaptiveGradClipper::clip(const std::vector<at::Tensor>& gradients) {
  const ClipResult result = observe(global_norm(gradients));
  if (result.clipped) scale_gradients(gradients, result.scale);
  return result;
}

void AdaptiveGradClipper::load_state(const AdaptiveClipState& state) {
  require_state(state);
  state_ = state;
}

}  // namespace osp::rl
