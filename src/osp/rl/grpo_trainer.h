#pragma once
// Mix-GRPO + LoRA post-training (`osp rl`, docs/rl.md): per epoch, rollouts of the current policy
// for k-repeated prompts, rewards, group-relative advantages over the epoch, filtering, then the
// clipped policy-gradient update of the LoRA (optional KL penalty against the base, computed by
// bypassing the adapter), adaptive gradient clipping, AdamW and an EMA of the adapter.
//
// Determinism: the prompts of every batch come from the k-repeat sampler keyed by (seed, sampler
// epoch), the initial noise and SDE noise of a batch from a generator keyed by (seed, sampler
// epoch, data-parallel group), and the shuffle of an epoch's samples from one keyed by (seed, epoch). With the
// adapter, its EMA, the moments, the clipper and the epoch in a checkpoint, a resumed run repeats
// the uninterrupted run's rewards and losses exactly.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "osp/diffusion/sde_window.h"
#include "osp/parallel/communicator.h"
#include "osp/parallel/training_mesh.h"
#include "osp/parallel/training_strategy.h"
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
  // Over every rank of `world` (which must outlive this): the same, and with parallel.sp /
  // parallel.ssp the DiT's tokens split over the sequence-parallel groups of the mesh; the ranks of
  // one group share their prompts and noise, its first rank decodes and scores (docs/rl.md
  // "Sharded and sequence-parallel RL").
  GrpoTrainer(RlConfig config, Reward reward, parallel::World& world);

  // Continues from a checkpoint folder or the newest one of an output directory. osp::Error when
  // the checkpoint was trained on another base (path and SHA-256 named) or does not fit.
  void resume(const std::string& path);

  EpochStats run_epoch();
  // Epochs until config.epochs, with logs, evaluations and checkpoints.
  std::vector<EpochStats> run();
  std::string save_checkpoint();

  Policy& policy() { return policy_; }
  // The live adapter as whole tensors under its PEFT names (collective under parallel.shard: full,
  // whose ranks hold 1/N of it).
  parallel::NamedTensors adapter() const;
  const parallel::TrainingStrategy& strategy() const { return *strategy_; }
  int64_t epochs_done() const { return epoch_; }
  int64_t global_step() const { return optimizer_->steps(); }
  const train::Ema& ema() const { return *ema_; }
  const RlConfig& config() const { return config_; }

 private:
  struct Samples;  // an epoch's rollouts on this rank
  GrpoTrainer(RlConfig config, Reward reward, parallel::Communicator comm, parallel::World* world);
  // This rank's data-parallel group (its prompts and noise) and the number of them.
  int data_rank() const { return mesh_ ? mesh_->data_rank() : comm_.rank(); }
  int data_ranks() const { return mesh_ ? mesh_->data_ranks() : comm_.size(); }
  // Whether this rank decodes and scores its group's videos (the first of its sequence-parallel group).
  bool scores() const { return !mesh_ || mesh_->leads_sequence_group(); }
  dit::ParallelHook* parallel_hook() { return mesh_ ? &mesh_->hook() : nullptr; }
  // parallel.shard: full: the base and the adapter cut into per-block shards, the base's values
  // streamed from its checkpoint into them.
  std::unique_ptr<parallel::TrainingStrategy> make_sharded_strategy();
  // Every data-parallel group's values (one row of n per group, in data-rank order) from the
  // scoring ranks' `mine` (collective).
  at::Tensor gather_from_scorers(const at::Tensor& mine) const;
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
  std::unique_ptr<parallel::TrainingMesh> mesh_;  // sequence-parallel runs only
  std::vector<std::pair<std::string, at::Tensor>> params_;  // the LoRA (PEFT names)
  // Replicated: gradient averaging over the ranks (adapters only: the frozen base never travels).
  // Fully sharded: the base and the adapters held 1/N per rank, gathered block by block.
  std::unique_ptr<parallel::TrainingStrategy> strategy_;
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
