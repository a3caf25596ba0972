#include "osp/train/trainer.h"

#include <ATen/core/grad_mode.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/io/atomic_file.h"
#include "osp/parallel/distributed_dit.h"
#include "osp/parallel/fully_sharded.h"
#include "osp/parallel/replicated_data_parallel.h"
#include "osp/train/dit_objective.h"
#include "osp/train/strategy_state.h"
#include "osp/train/vae_objective.h"

namespace osp::train {

const char* const kTrainLogHeader = "step,loss,lr,grad_norm,samples_per_s,elapsed_s";

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::string format_eta(double seconds) {
  const int64_t s = static_cast<int64_t>(std::max(0.0, seconds));
  return fmt::format("{}:{:02d}:{:02d}", s / 3600, (s / 60) % 60, s % 60);
}

std::string csv_path(const TrainConfig& c) { return (fs::path(c.output_dir) / "train_log.csv").string(); }
std::string svg_path(const TrainConfig& c) { return (fs::path(c.output_dir) / "loss_curve.svg").string(); }

// Rows of an existing CSV log up to `last_step` (a resumed run drops what came after its checkpoint).
std::vector<std::string> csv_rows_until(const std::string& path, int64_t last_step, std::vector<LossPoint>& history) {
  std::vector<std::string> rows;
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string step, loss;
    if (!std::getline(fields, step, ',') || !std::getline(fields, loss, ',')) continue;
    try {
      const int64_t s = std::stoll(step);
      if (s > last_step) continue;
      history.push_back({s, std::stod(loss)});
      rows.push_back(line);
    } catch (const std::exception&) {
    }
  }
  return rows;
}

// A checkpoint's config.json against the training config's model: equal up to the statistics that
// a checkpoint measures (objective.h checkpoint_config).
bool same_architecture(nlohmann::json saved, nlohmann::json expected) {
  for (const char* measured : {"latents_mean", "latents_std"}) {
    saved.erase(measured);
    expected.erase(measured);
  }
  return saved == expected;
}

// An adapter checkpoint holds no base weights, only the base's identity: resuming it on other
// base weights would silently train a different model.
void check_same_base(const nlohmann::json& saved, const nlohmann::json& expected, const std::string& path) {
  const auto base_of = [](const nlohmann::json& j) {
    return j.contains("lora") && j["lora"].is_object() && j["lora"].contains("base") ? j["lora"]["base"] : nlohmann::json();
  };
  const nlohmann::json a = base_of(saved), b = base_of(expected);
  if (a.is_null() || b.is_null() || a.value("sha256", "") == b.value("sha256", "")) return;
  fail_about(path, "this LoRA was trained on the base {} (sha256 {}), but the config's base is {} (sha256 {})",
             a.value("path", "?"), a.value("sha256", "?"), b.value("path", "?"), b.value("sha256", "?"));
}

}  // namespace

std::unique_ptr<Objective> make_objective(const TrainConfig& config) {
  if (config.trains_vae()) return std::make_unique<VaeObjective>(config);
  return std::make_unique<DiTObjective>(config, open_samples(config));
}

Trainer::Trainer(TrainConfig config, std::unique_ptr<SampleSource> data, parallel::Communicator comm)
    : Trainer(config, std::make_unique<DiTObjective>(config, std::move(data)), std::move(comm)) {}

Trainer::Trainer(TrainConfig config, std::unique_ptr<Objective> objective, parallel::Communicator comm)
    : Trainer(std::move(config), std::move(objective), std::move(comm), nullptr) {}

Trainer::Trainer(TrainConfig config, std::unique_ptr<Objective> objective, parallel::World& world)
    : Trainer(std::move(config), std::move(objective), world.global(), &world) {}

Trainer::Trainer(TrainConfig config, std::unique_ptr<Objective> objective, parallel::Communicator comm,
                 parallel::World* world)
    : config_(std::move(config)),
      objective_(std::move(objective)),
      comm_(std::move(comm)),
      world_(world),
      order_(objective_->data_size(), config_.seed) {
  // Float32 master weights: in bf16 mode the GEMMs round them to bf16 operands (nn/gemm.h), like
  // autocast over float32 parameters, while AdamW updates stay exact.
  const std::string described = objective_->describe();  // before the strategy shards the tensors away
  const auto* streamed = dynamic_cast<const DiTObjective*>(objective_.get());
  const std::set<std::string> later = streamed ? streamed->streamed_names() : std::set<std::string>();
  for (const auto& [name, tensor] : objective_->trained_tensors()) {
    at::Tensor p = tensor;
    const bool unwritten = later.count(name) != 0;  // its values come from the seed, identical on every rank
    if (p.scalar_type() != at::kFloat) {
      compute_dtypes_[name] = p.scalar_type();  // what the model computes with (sharded runs gather it so)
      p.set_data(unwritten ? at::empty(p.sizes(), p.options().dtype(at::kFloat)) : p.detach().to(at::kFloat));
    }
    if (!unwritten) {
      at::NoGradGuard no_grad;
      at::Tensor values = p.detach();
      comm_.broadcast(values, 0);  // every rank starts from rank 0's weights
    }
    p.requires_grad_(!objective_->frozen(name));
    params_.emplace_back(name, p);
  }
  make_sequence_parallel();
  make_strategy(later);
  optimizer_ = std::make_unique<AdamW>(strategy_->owned(), config_.optimizer);
  ema_ = std::make_unique<Ema>(strategy_->owned(), config_.ema_decay);
  start_ = Clock::now();
  if (comm_.rank() == 0) {
    std::error_code ec;
    fs::create_directories(config_.output_dir, ec);
    if (ec) fail_about(config_.output_dir, "cannot create the output folder: {}", ec.message());
  }
  log::info("train: {}, {} rank(s) × batch {} × accumulation {}", described, comm_.size(),
            config_.batch_size, config_.grad_accum);
  log::info("train: {}{}{}", strategy_->describe(), config_.activation_checkpointing ? ", activation checkpointing" : "",
            mesh_ ? ", mesh " + mesh_->groups().shape.describe() : "");
}

void Trainer::make_sequence_parallel() {
  if (config_.sequence_parallel() == 1) return;
  auto* objective = dynamic_cast<DiTObjective*>(objective_.get());
  if (!objective) fail_about(config_.source, "parallel.sp and parallel.ssp split a DiT's tokens; this run has no DiT");
  if (!world_) fail_about(config_.source, "parallel.sp and parallel.ssp need the ranks of a launcher");
  mesh_ = std::make_unique<parallel::TrainingMesh>(*world_, config_.sp, config_.ssp, objective->model().config(),
                                                   config_.source);
  objective->set_parallel(&mesh_->hook());
}

void Trainer::fill_shards(DiTObjective& objective, parallel::FullySharded& sharded) {
  int64_t filled = 0;
  objective.stream_initial_weights([&](const std::string& name, const at::Tensor& values) {
    // Trained tensors the model computes in bf16 were drawn into bf16 by the eager build, then
    // made float32 masters: the same rounding here.
    const auto dtype = compute_dtypes_.find(name);
    const at::Tensor v = dtype == compute_dtypes_.end() ? values : values.to(dtype->second);
    if (!sharded.absorb(name, v)) fail_about(name, "no shard holds this tensor of the model built shard by shard");
    ++filled;
  });
  log::info("train: built the model shard by shard ({} tensors, never whole on a rank)", filled);
}

int Trainer::data_rank() const { return mesh_ ? mesh_->data_rank() : comm_.rank(); }

int Trainer::data_ranks() const { return mesh_ ? mesh_->data_ranks() : comm_.size(); }

void Trainer::make_strategy(const std::set<std::string>& streamed) {
  auto* dit_model = dynamic_cast<dit::WanDiT*>(&objective_->module());
  if ((config_.shard == Sharding::kFull || config_.activation_checkpointing) && !dit_model) {
    fail_about(config_.source, "parallel.shard: full and activation_checkpointing need a DiT objective");
  }
  if (config_.shard == Sharding::kFull) {
    auto sharded = std::make_unique<parallel::FullySharded>(*dit_model, params_, comm_, compute_dtypes_, streamed);
    if (!streamed.empty()) fill_shards(*dynamic_cast<DiTObjective*>(objective_.get()), *sharded);
    strategy_ = std::move(sharded);
    return;
  }
  strategy_ = std::make_unique<parallel::ReplicatedDataParallel>(params_, comm_, config_.bucket_bytes);
  if (config_.activation_checkpointing) {
    block_weights_ = std::make_unique<parallel::LocalBlockWeights>(params_, static_cast<int64_t>(dit_model->blocks.size()));
    checkpointing_ = std::make_unique<parallel::CheckpointedBlocks>(*block_weights_);
    dit_model->set_block_runner(checkpointing_.get());
  }
}

NamedTensors Trainer::weights() const { return strategy_->unshard(tensors_of(strategy_->owned())); }

void Trainer::resume(const std::string& path) {
  // A sharded checkpoint of this very layout: each rank reads only its own file. Of the same
  // units on another number of ranks: each rank reads the ranges it now holds from the old
  // ranks' files. Anything else (a whole-tensor checkpoint, other units): whole tensors, resharded.
  const std::optional<ShardIndex> index = read_shard_index(path);
  const std::vector<parallel::ShardLayout> layout = strategy_->shard_layout();
  std::optional<NamedTensors> mine;
  std::string how;
  if (index && index->ranks == comm_.size() && index->layout == layout) {
    mine = load_rank_shards(*index, comm_.rank());
    how = " (each rank read its own shards)";
  } else if (index && !layout.empty()) {
    mine = read_rank_ranges(*index, layout, comm_.rank());
    if (mine) how = fmt::format(" (resharded from {} ranks, each rank reading only its ranges)", index->ranks);
  }
  const TrainCheckpoint c = load_checkpoint(path, /*whole_tensors=*/!mine);
  check_same_base(c.model_config, objective_->model_config(), path);
  if (!same_architecture(c.model_config, objective_->model_config())) {
    fail_about(path, "the checkpoint's model config differs from the training config's model");
  }
  const NamedTensors& owned = strategy_->owned();
  const Moments moments = moments_of(optimizer_->state());
  if (mine) {
    for (size_t i = 0; i < owned.size(); ++i) {
      const std::string& name = owned[i].first;
      copy_by_name(*mine, name, owned[i].second, "weight shard");
      copy_by_name(*mine, name + ".ema", ema_->weights()[i].second, "EMA shard");
      copy_by_name(*mine, name + ".exp_avg", moments.exp_avg[i], "optimizer state shard");
      copy_by_name(*mine, name + ".exp_avg_sq", moments.exp_avg_sq[i], "optimizer state shard");
    }
  } else {
    reshard_state(*strategy_, c, *ema_, *optimizer_);
  }
  optimizer_->set_steps(c.step);
  order_.seek(c.data_epoch, c.data_cursor);
  samples_drawn_ = c.samples_drawn;
  if (c.seed != config_.seed) log::warn("train: the checkpoint was trained with seed {}; continuing with it", c.seed);
  config_.seed = c.seed;
  first_step_ = c.step;
  if (comm_.rank() == 0) {
    history_.clear();
    std::string text = std::string(kTrainLogHeader) + "\n";
    for (const auto& row : csv_rows_until(csv_path(config_), c.step, history_)) text += row + "\n";
    io::write_file_atomically(csv_path(config_), text);
    log_started_ = true;
  }
  log::info("train: resumed at step {} from {}{}", c.step, path, how);
}

at::Tensor Trainer::micro_batch_loss() {
  const int64_t b = config_.batch_size, global = b * data_ranks(), first = data_rank() * b;
  std::vector<SampleRef> mine;
  for (int64_t i = 0; i < global; ++i) {
    const int64_t index = order_.next();
    if (i >= first && i < first + b) mine.push_back({index, samples_drawn_ + i});
  }
  samples_drawn_ += global;
  return objective_->loss(mine);
}

StepStats Trainer::step() {
  const auto start = Clock::now();
  strategy_->zero_grad();
  double loss = 0;
  for (int64_t a = 0; a < config_.grad_accum; ++a) {
    strategy_->before_forward();
    const at::Tensor micro = micro_batch_loss();
    (micro / static_cast<double>(config_.grad_accum)).backward();
    strategy_->after_backward();
    loss += micro.item<double>() / static_cast<double>(config_.grad_accum);
  }
  StepStats stats;
  stats.loss = strategy_->synchronize(loss);
  stats.grad_norm = strategy_->global_grad_norm();
  clip_grads_to(tensors_of(strategy_->owned()), stats.grad_norm, config_.grad_clip);
  stats.lr = scheduled_lr(config_.lr_schedule(), optimizer_->steps());
  optimizer_->step(stats.lr);
  ema_->update(strategy_->owned());
  strategy_->after_update();
  stats.step = optimizer_->steps();
  const double seconds = seconds_since(start);
  stats.samples_per_s =
      static_cast<double>(config_.batch_size * data_ranks() * config_.grad_accum) / std::max(seconds, 1e-9);
  stats.elapsed_s = seconds_since(start_);
  history_.push_back({stats.step, stats.loss});
  if (comm_.rank() == 0) {
    if (!log_started_) io::write_file_atomically(csv_path(config_), std::string(kTrainLogHeader) + "\n");
    log_started_ = true;
    std::ofstream csv(csv_path(config_), std::ios::app);
    csv << fmt::format("{},{:.8g},{:.6g},{:.6g},{:.4g},{:.3f}\n", stats.step, stats.loss, stats.lr, stats.grad_norm,
                       stats.samples_per_s, stats.elapsed_s);
  }
  return stats;
}

void Trainer::log_step(const StepStats& s) {
  if (comm_.rank() != 0) return;
  if (s.step % config_.log_every != 0 && s.step != config_.steps) return;
  const double per_step = s.elapsed_s / static_cast<double>(std::max<int64_t>(1, s.step - first_step_));
  log::info("step {}/{}  loss {:.5f}  lr {:.3e}  grad norm {:.4f}  {:.2f} samples/s  ETA {}", s.step, config_.steps,
            s.loss, s.lr, s.grad_norm, s.samples_per_s,
            format_eta(per_step * static_cast<double>(config_.steps - s.step)));
}

void Trainer::write_logs() {
  if (comm_.rank() != 0) return;
  write_loss_curve(svg_path(config_), history_,
                   fmt::format("{}: training loss ({} steps)", config_.model_name(), steps_done()));
}

TrainCheckpoint Trainer::checkpoint_state() const {
  TrainCheckpoint c;
  c.model_config = objective_->checkpoint_config();
  c.step = optimizer_->steps();
  c.data_epoch = order_.epoch();
  c.data_cursor = order_.cursor();
  c.samples_drawn = samples_drawn_;
  c.seed = config_.seed;
  c.extra_files = objective_->checkpoint_files();
  return c;
}

std::string Trainer::save_checkpoint() {
  TrainCheckpoint c = checkpoint_state();
  const Moments moments = moments_of(optimizer_->state());
  const std::vector<parallel::ShardLayout> layout = strategy_->shard_layout();
  std::string folder;
  if (!layout.empty()) {
    // Sharded: every rank writes its own shards, nothing is gathered.
    NamedTensors shards;
    for (size_t i = 0; i < strategy_->owned().size(); ++i) {
      const std::string& name = strategy_->owned()[i].first;
      shards.emplace_back(name, strategy_->owned()[i].second);
      shards.emplace_back(name + ".ema", ema_->weights()[i].second);
      shards.emplace_back(name + ".exp_avg", moments.exp_avg[i]);
      shards.emplace_back(name + ".exp_avg_sq", moments.exp_avg_sq[i]);
    }
    folder = save_sharded_checkpoint(config_.output_dir, c, layout, shards, comm_.rank(), comm_.size(),
                                     [this] { comm_.barrier(); });
  } else {
    unshard_state(*strategy_, *ema_, *optimizer_, c);
    if (comm_.rank() == 0) folder = train::save_checkpoint(config_.output_dir, c);
  }
  if (comm_.rank() == 0) {
    write_logs();
    log::info("train: checkpoint {}", folder);
  }
  comm_.barrier();
  return folder;
}

std::vector<StepStats> Trainer::run() {
  std::vector<StepStats> all;
  int64_t saved = -1;
  while (steps_done() < config_.steps) {
    all.push_back(step());
    log_step(all.back());
    if (config_.checkpoint_every > 0 && steps_done() % config_.checkpoint_every == 0) {
      save_checkpoint();
      saved = steps_done();
    }
  }
  if (saved != steps_done()) save_checkpoint();
  return all;
}

}  // namespace osp::train
