#pragma once
// The GRPO training objective of one trained step j (docs/rl.md "Policy loss"): a PPO-style clipped
// likelihood-ratio loss on the group advantages, plus an optional KL penalty that keeps the
// transition means of the policy close to those of the reference (the base model without LoRA).
// Everything is differentiable with respect to log_prob and mean; the rest is treated as data.
#include <ATen/ATen.h>

namespace osp::rl {

struct PolicyLossOptions {
  double clip_range = 5e-3;   // ε: the ratio is trusted within [1 − ε, 1 + ε]
  double adv_clip_max = 5.0;  // advantages are clamped to [−adv_clip_max, adv_clip_max]
  double kl_beta = 0.0;       // β: weight of the KL term (0: no reference forward needed)
};

struct PolicyLossInputs {
  at::Tensor log_prob;      // [B] log p_θ(x_{j+1} | x_j) of the current policy (with gradient)
  at::Tensor old_log_prob;  // [B] the same from the rollout (data)
  at::Tensor advantages;    // [B] (data)
  // Only when kl_beta > 0: the transition means of the policy (with gradient) and of the reference,
  // [B, C, F, H, W] (any equal shapes), and the step's std·√(−dt).
  at::Tensor mean;
  at::Tensor ref_mean;
  double noise_scale = 0.0;
};

struct PolicyLossTerms {
  at::Tensor loss;         // L = L_pol + β·L_kl, a float32 scalar with gradient
  at::Tensor policy_loss;  // L_pol
  at::Tensor kl_loss;      // L_kl (0 when β = 0)
  // Diagnostics, detached float32 scalars:
  at::Tensor approx_kl;   // ½·mean((log_prob − old_log_prob)²)
  at::Tensor clipfrac;    // fraction of samples with |ρ − 1| > ε
  at::Tensor mean_ratio;  // mean(ρ)
};

// L_pol = mean_B(max(−A_c·ρ, −A_c·clamp(ρ, 1 − ε, 1 + ε))), A_c = clamp(A, ±adv_clip_max),
// ρ = exp(log_prob − old_log_prob); L_kl = kl_penalty(mean, ref_mean, noise_scale) when β > 0.
// osp::Error for inputs that are not [B] vectors of one size, a KL input that is missing or
// mis-shaped when β > 0, or options out of range (ε < 0, adv_clip_max < 0, β < 0).
PolicyLossTerms policy_loss(const PolicyLossInputs& inputs, const PolicyLossOptions& options);

// mean_B( mean over the other elements of (mean − ref_mean)² / (2·noise_scale²) ): the KL divergence
// between the two Gaussian transitions of equal variance, averaged per element. ref_mean is data.
at::Tensor kl_penalty(const at::Tensor& mean, const at::Tensor& ref_mean, double noise_scale);

}  // namespace osp::rl
