#include "osp/rl/policy_loss.h"

#include <cmath>

#include "osp/core/error.h"
#include "osp/core/shape.h"

namespace osp::rl {
namespace {

void require_vector(const at::Tensor& t, int64_t batch, const char* name) {
  require(t.defined(), "policy loss: {} is missing", name);
  if (t.dim() != 1 || t.size(0) != batch) {
    fail("policy loss: {} must be [{}], got {}", name, batch, shape_string(t.sizes()));
  }
}

void check_inputs(const PolicyLossInputs& in, const PolicyLossOptions& o) {
  require(o.clip_range >= 0.0, "policy loss: clip_range must not be negative, got {}", o.clip_range);
  require(o.adv_clip_max >= 0.0, "policy loss: adv_clip_max must not be negative, got {}", o.adv_clip_max);
  require(o.kl_beta >= 0.0, "policy loss: kl_beta must not be negative, got {}", o.kl_beta);
  require(in.log_prob.defined() && in.log_prob.dim() == 1 && in.log_prob.size(0) >= 1,
          "policy loss: log_prob must be a non-empty [B] vector");
  const int64_t batch = in.log_prob.size(0);
  require_vector(in.old_log_prob, batch, "old_log_prob");
  require_vector(in.advantages, batch, "advantages");
}

// Element-wise mean over all but the batch dimension: [B, ...] → [B].
at::Tensor mean_per_sample(const at::Tensor& t) { return t.reshape({t.size(0), -1}).mean(1); }

}  // namespace

at::Tensor kl_penalty(const at::Tensor& mean, const at::Tensor& ref_mean, double noise_scale) {
  require(mean.defined() && ref_mean.defined(), "KL penalty: the policy and reference means are both needed");
  if (mean.sizes() != ref_mean.sizes() || mean.dim() < 1) {
    fail("KL penalty: policy mean {} and reference mean {} must have one [B, ...] shape", shape_string(mean.sizes()),
         shape_string(ref_mean.sizes()));
  }
  require(std::isfinite(noise_scale) && noise_scale > 0.0, "KL penalty: std·√(−dt) must be positive, got {}",
          noise_scale);
  const float scale = static_cast<float>(noise_scale);
  const at::Tensor diff = mean.to(at::kFloat) - ref_mean.detach().to(at::kFloat);
  return (mean_per_sample(diff * diff) / (2.0f * (scale * scale))).mean();
}

PolicyLossTerms policy_loss(const PolicyLossInputs& in, const PolicyLossOptions& options) {
  check_inputs(in, options);
  const at::Tensor log_prob = in.log_prob.to(at::kFloat);
  const at::Tensor log_ratio = log_prob - in.old_log_prob.detach().to(at::kFloat);
  const at::Tensor ratio = at::exp(log_ratio);
  const at::Tensor advantages =
      in.advantages.detach().to(at::kFloat).clamp(-options.adv_clip_max, options.adv_clip_max);
  // The pessimistic (larger) of the two losses: moving ρ beyond the trusted range earns nothing.
  const at::Tensor unclipped = -advantages * ratio;
  const at::Tensor clipped = -advantages * ratio.clamp(1.0 - options.clip_range, 1.0 + options.clip_range);

  PolicyLossTerms terms;
  terms.policy_loss = at::maximum(unclipped, clipped).mean();
  terms.kl_loss = options.kl_beta > 0.0 ? kl_penalty(in.mean, in.ref_mean, in.noise_scale)
                                        : at::zeros({}, log_prob.options().requires_grad(false));
  terms.loss = options.kl_beta > 0.0 ? terms.policy_loss + terms.kl_loss * options.kl_beta : terms.policy_loss;

  const at::Tensor log_ratio_data = log_ratio.detach();
  const at::Tensor ratio_data = ratio.detach();
  terms.approx_kl = 0.5 * (log_ratio_data * log_ratio_data).mean();
  terms.clipfrac = ((ratio_data - 1.0).abs() > options.clip_range).to(at::kFloat).mean();
  terms.mean_ratio = ratio_data.mean();
  return terms;
}

}  // namespace osp::rl
