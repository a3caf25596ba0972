#pragma once
// The trainer of `osp train`: AdamW with warm-up, gradient clipping, gradient accumulation, EMA,
// float32 master weights, data parallelism over a c10d group (a training strategy of parallel/:
// replicated or fully sharded, optionally with activation checkpointing, owns the gradient traffic
// and decides which tensors this rank updates), checkpoints with exact resume, and the logs
// (console, CSV, SVG), around an objective (objective.h): the DiT's flow matching (docs/sampling.md
// "Training noise schedule", dit_objective.h) or the VAE's L1 + KL (vae_objective.h).
//
// Determinism: a global batch is the next R·b indices of the shuffled data order (identical on
// every rank; rank r takes samples r·b … r·b + b − 1), and every sample draws its caption-dropout
// coin, σ and noise from its own generator keyed by (seed, its serial number in the run). So R
// ranks with per-rank batch b see exactly the samples, σ and noise of one rank with batch R·b, and
// a resumed run draws what the uninterrupted run drew (data position and serial counter are in
// the checkpoint).
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "osp/train/objective.h"
#include "osp/parallel/communicator.h"
#include "osp/parallel/checkpointed_blocks.h"
#include "osp/parallel/fully_sharded.h"
#include "osp/parallel/training_mesh.h"
#include "osp/parallel/world.h"
#include "osp/parallel/training_strategy.h"
#include "osp/train/ema.h"
#include "osp/train/loss_curve.h"
#include "osp/train/optimizer.h"
#include "osp/train/sample_source.h"
#include "osp/train/train_checkpoint.h"
#include "osp/train/train_config.h"

namespace osp::train {

class DiTObjective;

struct StepStats {
  int64_t step = 0;        // optimizer steps done after this one (1-based)
  double loss = 0;         // mean over the step's micro-batches and ranks
  double lr = 0;
  double grad_norm = 0;    // before clipping
  double samples_per_s = 0;
  double elapsed_s = 0;    // since the trainer started (this process)
};

class Trainer {
 public:
  // Trains `objective`'s module with float32 master weights. `comm`: the data-parallel group
  // (default: one rank); rank 0 writes checkpoints and logs.
  Trainer(TrainConfig config, std::unique_ptr<Objective> objective, parallel::Communicator comm = {});
  // The DiT trainer on `data` (DiTObjective).
  Trainer(TrainConfig config, std::unique_ptr<SampleSource> data, parallel::Communicator comm = {});
  // Over every rank of `world`: the same, and with parallel.sp / parallel.ssp the DiT's token
  // sequence split over sequence-parallel groups of the mesh (docs/training.md "Sequence-parallel
  // training"); the data-parallel groups then take different samples. `world` must outlive this.
  Trainer(TrainConfig config, std::unique_ptr<Objective> objective, parallel::World& world);

  // Continues from a checkpoint folder (or the newest one of an output directory): weights, EMA,
  // optimizer moments, generator state, data position and step. osp::Error when it does not fit
  // the model.
  void resume(const std::string& path);

  // One optimizer step: grad_accum micro-batches of batch_size samples per rank.
  StepStats step();

  // Steps until config.steps with logs every log_every steps and checkpoints every
  // checkpoint_every steps and at the end. Returns the stats of the steps run here.
  std::vector<StepStats> run();

  // Writes a checkpoint of the current state: rank 0 the whole tensors, or, fully sharded, every
  // rank its shards (train_checkpoint.h). Collective. Returns its folder.
  std::string save_checkpoint();

  // The module (with parameters sharded away under parallel.shard: full: use weights()).
  nn::ParamModule& model() { return objective_->module(); }
  // The trained tensors, whole, under their names (collective under full sharding: every rank calls it).
  NamedTensors weights() const;
  const parallel::TrainingStrategy& strategy() const { return *strategy_; }
  const Ema& ema() const { return *ema_; }
  int64_t steps_done() const { return optimizer_->steps(); }
  const TrainConfig& config() const { return config_; }
  const std::vector<LossPoint>& loss_history() const { return history_; }

 private:
  Trainer(TrainConfig config, std::unique_ptr<Objective> objective, parallel::Communicator comm,
          parallel::World* world);

  // Mean loss of this rank's part of the next global micro-batch (graph recorded).
  at::Tensor micro_batch_loss();
  // The strategy the config asks for (and activation checkpointing), installed on the model;
  // `streamed`: the tensors whose values the objective streams into the shards (none: eager build).
  void make_strategy(const std::set<std::string>& streamed);
  // A model built on the meta device: its initial values streamed into the shards, tensor by tensor.
  void fill_shards(DiTObjective& objective, parallel::FullySharded& sharded);
  // The mesh and the sequence-parallel hook of parallel.sp / parallel.ssp, installed on the objective.
  void make_sequence_parallel();
  // This rank's data-parallel group: its position and the number of groups (samples differ only across them).
  int data_rank() const;
  int data_ranks() const;
  // Step, data position, RNG counter and the objective's config and files (no tensors).
  TrainCheckpoint checkpoint_state() const;
  void log_step(const StepStats& stats);
  void write_logs();

  TrainConfig config_;
  std::unique_ptr<Objective> objective_;
  parallel::Communicator comm_;
  parallel::World* world_ = nullptr;
  std::unique_ptr<parallel::TrainingMesh> mesh_;  // sequence-parallel runs only
  std::vector<std::pair<std::string, at::Tensor>> params_;
  // Trained tensors the model stores in its compute dtype (bf16 runs): float32 masters here, whose
  // GEMMs round them to that dtype, so a sharded run gathers them in it.
  std::map<std::string, at::ScalarType> compute_dtypes_;
  // Activation checkpointing of replicated runs (full sharding brings its own).
  std::unique_ptr<parallel::BlockWeights> block_weights_;
  std::unique_ptr<parallel::CheckpointedBlocks> checkpointing_;
  std::unique_ptr<parallel::TrainingStrategy> strategy_;  // after the objective: detaches from its model first
  std::unique_ptr<AdamW> optimizer_;
  std::unique_ptr<Ema> ema_;
  DataOrder order_;
  int64_t samples_drawn_ = 0;  // serial number of the next sample of the run
  std::vector<LossPoint> history_;
  std::chrono::steady_clock::time_point start_;
  int64_t first_step_ = 0;  // steps_done() when this process started (for the ETA)
  bool log_started_ = false;  // the CSV holds its header (and a resumed run's earlier rows)
};

// The objective a config names: the VAE's (a `vae:` section) or the DiT's on its data.
std::unique_ptr<Objective> make_objective(const TrainConfig& config);

// The trainer's CSV log columns, in order.
extern const char* const kTrainLogHeader;

}  // namespace osp::train
