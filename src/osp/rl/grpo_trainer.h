#pragma once
// Mix-GRPO + LoRA post-training (`osp rl`, docs/rl.md): per epoch, rollouts of the current policy
// for k-repeated prompts, rewards, group-relative advantages over the epoch, filtering, then the
// clipped policy-gradient update of the LoRA (optional KL penalty against the base, computed by
// bypassing the adapter), adaptive gradient clipping, AdamW and an EMA of the adapter.
//
// Determinism: the prompts of every batch come from the k-repeat sampler keyed by (seed, sampler
// epoch), the initial noise and SDE noise of a batch from a generator keyed by (seed, sampler
// epoch, rank), and the shuffle of an epoch's samples from one keyed by (seed, epoch). With the
// adapter, its EMA, the moments, the clipper and the epoch in a checkpoint, a resumed run repeats
// the uninterrupted run's rewards and losses exactly.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "osp/diffusion/sde_window.h"
#include "osp/parallel/communicator.h"
#include "osp/parallel/replicated_data_parallel.h"
#include "osp/rl/adaptive_clip.h"
#include "osp/rl/policy.h"
#include "osp/rl/reward.h"
#include "osp/rl/rl_config.h"
#include "osp/rl/rollout.h"
#include "osp/train/ema.h"
#include "osp/train/optimizer.h"

namespace osp::rl {

struct EpochStats {
  int64_t epoch = 0;        // 1-based: epochs done after this one
  int64_t global_step = 0;  // optimizer steps done after this epoch
  double reward_mean = 0, reward_std = 0;
  std::map<std::string, double> term_means;  // per reward term (and sub-score)
  double adv_mean = 0, adv_std = 0, adv_abs_max = 0;
  int64_t samples = 0, kept = 0;  // this epoch's samples over all ranks, and those trained on
  double policy_loss = 0, kl = 0, approx_kl = 0, clipfrac = 0, mean_ratio = 0;  // means over steps
  double grad_norm = 0;     // mean over optimizer steps, before clipping
  int64_t clipped = 0;      // optimizer steps whose gradients were clipped
  double rollout_s = 0, reward_s = 0, update_s = 0;
  double eval_reward = std::numeric_limits<double>::quiet_NaN();  // NaN: no evaluation this epoch
  std::vector<double> rewards;  // this rank's rewards, in rollout order (tests)
};

class GrpoTrainer {
 public:
  // `reward` scores the decoded videos; `comm` is the data-parallel group (rank 0 logs and saves).
  GrpoTrainer(RlConfig config, Reward reward, parallel::Communicator comm = {});

  // Continues from a checkpoint folder or the newest one of an output directory. osp::Error when
  // the checkpoint was trained on another base (path and SHA-256 named) or does not fit.
  void resume(const std::string& path);

  EpochStats run_epoch();
  // Epochs until config.epochs, with logs, evaluations and checkpoints.
  std::vector<EpochStats> run();
  std::string save_checkpoint();

  Policy& policy() { return policy_; }
  int64_t epochs_done() const { return epoch_; }
  int64_t global_step() const { return optimizer_->steps(); }
  const train::Ema& ema() const { return *ema_; }
  const RlConfig& config() const { return config_; }

 private:
  struct Samples;  // an epoch's rollouts on this rank
  RolloutSchedule epoch_schedule();
  Samples collect_rollouts(EpochStats& stats);
  void compute_advantages(Samples& samples, EpochStats& stats);
  void update(Samples& samples, EpochStats& stats);
  double evaluate();
  void log_epoch(const EpochStats& stats);

  RlConfig config_;
  Reward reward_;
  parallel::Communicator comm_;
  Policy policy_;
  std::vector<std::pair<std::string, at::Tensor>> params_;  // the LoRA (PEFT names)
  // Gradient averaging over the ranks (adapters only: the base is frozen and never travels).
  static constexpr int64_t kBucketBytes = 4 << 20;
  std::unique_ptr<parallel::ReplicatedDataParallel> strategy_;
  std::unique_ptr<train::AdamW> optimizer_;
  std::unique_ptr<train::Ema> ema_;
  AdaptiveGradClipper clipper_;
  diffusion::SlidingWindowSchedule window_;
  int64_t epoch_ = 0;
  std::vector<std::pair<int64_t, double>> reward_history_;
  std::chrono::steady_clock::time_point start_;
};

// The CSV log's columns (one row per epoch).
extern const char* const kRlLogHeader;

}  // namespace osp::rl
