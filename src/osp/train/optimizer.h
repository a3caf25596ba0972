#pragma once
// The DiT trainer's optimizer: AdamW with decoupled weight decay, the linear
// learning-rate warm-up, and gradient clipping by the global L2 norm. Written out (not
// torch::optim) so that its whole state is a set of named tensors that a checkpoint stores in
// safetensors and restores exactly; tests compare it with torch::optim::AdamW.
#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace osp::train {

struct AdamWOptions {
  double lr = 1e-4;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
};

// AdamW over named float32 parameters (Loshchilov & Hutter; the update of torch.optim.AdamW):
//   p ← p·(1 − lr·wd);  m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²;
//   p ← p − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + eps).
// Parameters without a gradient are skipped (their moments and step stay as they are).
class AdamW {
 public:
  AdamW(std::vector<std::pair<std::string, at::Tensor>> params, AdamWOptions options);

  // One update with learning rate `lr` (lr_schedule.h's value for this step).
  void step(double lr);
  void zero_grad();

  int64_t steps() const { return step_; }
  void set_steps(int64_t steps) { step_ = steps; }  // resuming with moments restored elsewhere
  const AdamWOptions& options() const { return options_; }
  const std::vector<std::pair<std::string, at::Tensor>>& params() const { return params_; }

  // The moments as "<name>.exp_avg" / "<name>.exp_avg_sq" (checkpoints); load_state restores them
  // and the step count, osp::Error naming a missing or mis-shaped tensor.
  std::vector<std::pair<std::string, at::Tensor>> state() const;
  void load_state(const std::vector<std::pair<std::string, at::Tensor>>& tensors, int64_t steps);

 private:
  std::vector<std::pair<std::string, at::Tensor>> params_;
  std::vector<at::Tensor> exp_avg_, exp_avg_sq_;
  AdamWOptions options_;
  int64_t step_ = 0;
};

// The global L2 norm of the gradients (float64 accumulation); with max_norm > 0 and a larger norm
// every gradient is scaled by max_norm / (norm + 1e-6) (torch.nn.utils.clip_grad_norm_). Returns
// the norm before clipping.
double clip_grad_norm(const std::vector<at::Tensor>& params, double max_norm);
// The scaling step of clip_grad_norm for a norm measured elsewhere (across the shards of a model).
void clip_grads_to(const std::vector<at::Tensor>& params, double norm, double max_norm);

}  // namespace osp::train
