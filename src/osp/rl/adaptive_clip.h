#pragma once
// Adaptive gradient clipping (docs/rl.md "Adaptive gradient clipping"): the clipping limit follows a
// running mean + 3 standard deviations of the gradient norms seen so far, so that rare spikes are
// clipped while the ordinary scale of the gradients (which drifts during training) is not. Norms
// above the limit are clipped and left out of the running statistics.
#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <vector>

namespace osp::rl {

// What a checkpoint stores. Before the first call the running mean is −∞ (initialized = false).
struct AdaptiveClipState {
  bool initialized = false;
  double avg = 0.0;       // running mean of the accepted norms (meaningful once initialized)
  double var = 0.0;       // running variance
  double max_norm = 1.0;  // M: the current limit (init_max_grad_norm before the first call)

  // {"initialized", "avg" (null before the first call: JSON has no −∞), "var", "max_norm"}.
  nlohmann::json to_json() const;
  // The inverse of to_json; osp::Error naming the missing or invalid field.
  static AdaptiveClipState from_json(const nlohmann::json& j);
};

// The outcome of one clipping call.
struct ClipResult {
  double norm = 0.0;      // the global norm before clipping
  double max_norm = 0.0;  // the limit M it was compared with
  double scale = 1.0;     // M/(norm + 1e-6) when clipped, else 1
  bool clipped = false;
};

// sqrt(Σ x²) over all elements of all defined tensors, accumulated in float64.
double global_norm(const std::vector<at::Tensor>& tensors);

class AdaptiveGradClipper {
 public:
  // init_max_grad_norm > 0 (the first limit and the cap on the first running mean), 0 < decay < 1;
  // osp::Error otherwise.
  explicit AdaptiveGradClipper(double init_max_grad_norm = 1.0, double decay = 0.99);

  // Advances the state machine with the global norm of this step (already summed over the ranks
  // that hold parts of the gradient) and says whether and how much to scale. osp::Error for a norm
  // that is not finite or negative.
  ClipResult observe(double norm);

  // observe(global_norm(gradients)) and scales the gradients in place when clipped. For gradients
  // split over ranks, reduce the squared norms first and call observe + scale_gradients instead.
  ClipResult clip(const std::vector<at::Tensor>& gradients);

  const AdaptiveClipState& state() const { return state_; }
  void load_state(const AdaptiveClipState& state);
  double decay() const { return decay_; }

 private:
  AdaptiveClipState state_;
  double decay_;
};

// Multiplies every defined gradient by `scale` in place (no autograd).
void scale_gradients(const std::vector<at::Tensor>& gradients, double scale);

}  // namespace osp::rl
