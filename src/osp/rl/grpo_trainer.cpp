#include "osp/rl/grpo_trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/core/progress.h"
#include "osp/diffusion/sde_step.h"
#include "osp/io/atomic_file.h"
#include "osp/io/png_image.h"
#include "osp/models/dit/loader.h"
#include "osp/parallel/fully_sharded.h"
#include "osp/parallel/mesh.h"
#include "osp/parallel/replicated_data_parallel.h"
#include "osp/parallel/tiles.h"
#include "osp/shapes/contact_sheet.h"
#include "osp/models/vae/codec.h"
#include "osp/rl/advantages.h"
#include "osp/rl/policy_loss.h"
#include "osp/rl/prompt_sampler.h"
#include "osp/train/loss_curve.h"
#include "osp/train/strategy_state.h"
#include "osp/train/train_checkpoint.h"

namespace osp::rl {

const char* const kRlLogHeader =
    "epoch,global_step,reward_mean,reward_std,adv_mean,adv_std,adv_abs_max,samples,kept,policy_loss,kl,approx_kl,"
    "clipfrac,mean_ratio,grad_norm,clipped,rollout_s,reward_s,update_s,eval_reward";

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// A generator for one purpose of one (epoch or sampler epoch, rank): the same on every run.
at::Generator keyed_generator(uint64_t seed, int64_t a, int64_t b, uint64_t purpose) {
  uint64_t h = seed * 0x9E3779B97F4A7C15ull ^ (static_cast<uint64_t>(a) + 0x632BE59BD9B4E019ull * purpose);
  h ^= static_cast<uint64_t>(b + 1) * 0xBF58476D1CE4E5B9ull;
  h ^= h >> 31;
  return at::detail::createCPUGenerator(h);
}

constexpr uint64_t kNoise = 1, kShuffle = 2, kFilter = 3;

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

double std_of(const std::vector<double>& v) {
  const double m = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return v.empty() ? 0.0 : std::sqrt(s / static_cast<double>(v.size()));
}

// Decoded frames [B, 3, T, H, W] in [−1, 1] → per-video float32 [T, H, W, 3] in [0, 1].
at::Tensor reward_frames(const at::Tensor& decoded, int64_t b) {
  return ((decoded[b].clamp(-1.0, 1.0) + 1.0) * 0.5).permute({1, 2, 3, 0}).contiguous().to(at::kFloat);
}

std::string csv_path(const RlConfig& c) { return (fs::path(c.output_dir) / "rl_log.csv").string(); }

}  // namespace

// This rank's rollouts of one epoch, concatenated over its batches.
struct GrpoTrainer::Samples {
  RolloutSchedule schedule;             // the grid and the stochastic window they were sampled with
  std::vector<std::string> prompts;     // [n]
  std::vector<double> rewards;          // [n]
  at::Tensor states;                    // [T + 1, n, C, F, H, W]
  at::Tensor log_probs;                 // [T, n]
  std::vector<int64_t> kept;            // sample indices trained on
  std::vector<double> advantages;       // their advantages
  std::vector<at::Tensor> batch_states, batch_log_probs;
};

GrpoTrainer::GrpoTrainer(RlConfig config, Reward reward, parallel::Communicator comm)
    : GrpoTrainer(std::move(config), std::move(reward), std::move(comm), nullptr) {}

GrpoTrainer::GrpoTrainer(RlConfig config, Reward reward, parallel::World& world)
    : GrpoTrainer(std::move(config), std::move(reward), world.global(), &world) {}

GrpoTrainer::GrpoTrainer(RlConfig config, Reward reward, parallel::Communicator comm, parallel::World* world)
    : config_(std::move(config)),
      reward_(std::move(reward)),
      comm_(std::move(comm)),
      clipper_(config_.init_max_grad_norm, config_.clip_decay) {
  const int sequence = config_.sequence_parallel();
  if (sequence > 1 && !world) fail_about(config_.source, "parallel.sp and parallel.ssp need the ranks of a launcher");
  if (comm_.size() % sequence != 0) {
    fail_about(config_.source + ": parallel", "sp × ssp = {} does not divide the {} rank(s)", sequence, comm_.size());
  }
  const int groups = comm_.size() / sequence;  // data-parallel groups
  if ((groups * config_.sample_batch_size) % config_.group_size != 0) {
    fail_about(config_.source + ": sample_batch_size",
               "{} data-parallel group(s) × sample_batch_size {} = {} videos per rollout batch must be a multiple of "
               "group_size {} (every prompt's group is generated in the same batch)",
               groups, config_.sample_batch_size, groups * config_.sample_batch_size, config_.group_size);
  }
  const int64_t distinct = groups * config_.sample_batch_size / config_.group_size;
  if (distinct > static_cast<int64_t>(config_.prompt_list.size())) {
    fail_about(config_.prompts, "holds {} prompts but a rollout batch draws {} distinct ones", config_.prompt_list.size(),
               distinct);
  }
  if (reward_.empty()) fail_about(config_.source + ": rewards", "no reward term");
  policy_ = load_policy(config_);
  if (sequence > 1) {
    mesh_ = std::make_unique<parallel::TrainingMesh>(*world, config_.sp, config_.ssp, policy_.dit->config(),
                                                     config_.source);
    try {
      parallel::check_spatial_tiles(policy_.dit->config(), policy_.latent_shape(), config_.sp);
    } catch (const Error& e) {
      fail_about(config_.source + ": parallel.sp", "{} (video {}×{})", e.what(), policy_.video.width,
                 policy_.video.height);
    }
  }
  params_ = adapters::peft_tensors(policy_.lora);
  if (config_.shard == train::Sharding::kFull) {
    strategy_ = make_sharded_strategy();
  } else {
    strategy_ = std::make_unique<parallel::ReplicatedDataParallel>(params_, comm_, config_.bucket_bytes);
  }
  if (comm_.rank() == 0 && comm_.size() > 1) {
    log::info("rl: {}{}", strategy_->describe(), mesh_ ? ", mesh " + mesh_->groups().shape.describe() : "");
  }
  optimizer_ = std::make_unique<train::AdamW>(strategy_->owned(), config_.optimizer);
  ema_ = std::make_unique<train::Ema>(strategy_->owned(), config_.ema_decay);
  if (config_.window) {
    window_.initial_start = window_.start = config_.window->start;
    window_.iterations = config_.window->iterations;
    window_.stride = config_.window->stride;
    window_.width = config_.window->width;
  }
  start_ = Clock::now();
  if (comm_.rank() == 0) fs::create_directories(config_.output_dir);
}

std::unique_ptr<parallel::TrainingStrategy> GrpoTrainer::make_sharded_strategy() {
  // The base's shapes, before the strategy empties the model's parameters into flat shards.
  std::set<const c10::TensorImpl*> adapter;
  for (const auto& item : params_) adapter.insert(item.second.unsafeGetTensorImpl());
  torch::OrderedDict<std::string, at::Tensor> base;
  std::set<std::string> later;
  for (const auto& item : policy_.dit->named_parameters()) {
    if (adapter.count(item.value().unsafeGetTensorImpl())) continue;
    base.insert(item.key(), at::empty(item.value().sizes(), item.value().options().device(c10::kMeta)));
    later.insert(item.key());
  }
  auto sharded = std::make_unique<parallel::FullySharded>(*policy_.dit, params_, comm_,
                                                          std::map<std::string, at::ScalarType>{}, later);
  // Each tensor of the checkpoint is read once, kept in part by the shard that holds it, and freed.
  const dit::LoadReport report = dit::for_each_checkpoint_weight(
      base, *io::open_tensor_source(policy_.unloaded_base), [&](const std::string& name, const at::Tensor& values) {
        if (!sharded->absorb(name, values)) fail_about(name, "no shard holds this tensor of the base");
      });
  if (comm_.rank() == 0) {
    log::info("rl: base {} streamed into the shards ({} tensors, never whole on a rank)", policy_.unloaded_base,
              report.loaded);
  }
  return sharded;
}

RolloutSchedule GrpoTrainer::epoch_schedule() {
  if (!config_.window) {
    return make_schedule(config_.steps, config_.shift, diffusion::first_steps_window(config_.steps, config_.sde_steps),
                         config_.trained_steps());
  }
  // The sliding window may reach c = N − 2, where it is empty: move on as training would.
  while (window_.window(config_.steps).size() == 0) window_.advance(config_.steps);
  const diffusion::StepWindow sde = window_.window(config_.steps);
  return make_schedule(config_.steps, config_.shift, sde, sde.size());
}

GrpoTrainer::Samples GrpoTrainer::collect_rollouts(EpochStats& stats) {
  const auto start = Clock::now();
  const RolloutSchedule schedule = epoch_schedule();
  const PromptSamplerOptions sampler{data_ranks(), config_.sample_batch_size, config_.group_size, config_.seed};
  const std::vector<int64_t> shape = policy_.latent_shape();
  Samples s;
  strategy_->before_forward();
  s.schedule = schedule;
  std::vector<at::Tensor> finals;
  std::unique_ptr<Progress> progress;
  if (comm_.rank() == 0) progress = std::make_unique<Progress>("rollouts", config_.batches_per_epoch);
  for (int64_t b = 0; b < config_.batches_per_epoch; ++b) {
    const int64_t se = sampler_epoch(epoch_, config_.batches_per_epoch, b);
    std::vector<std::string> prompts;
    for (int64_t i : k_repeat_batch(static_cast<int64_t>(config_.prompt_list.size()), sampler, se, data_rank())) {
      prompts.push_back(config_.prompt_list[i]);
    }
    // Each video's noise is keyed by its place in the whole world's batch (not by rank): R groups
    // draw exactly what one rank with R times the batch draws, and the ranks of a
    // sequence-parallel group draw the same.
    std::vector<at::Generator> generators;
    for (int64_t v = 0; v < config_.sample_batch_size; ++v) {
      generators.push_back(keyed_generator(config_.seed, se, data_rank() * config_.sample_batch_size + v, kNoise));
    }
    const at::Tensor noise = per_sample_normal(generators, shape);
    RolloutBatch batch = rollout(*policy_.dit, noise, policy_.context_batch(prompts),
                                 policy_.negative_batch(config_.sample_batch_size), schedule, config_.guidance,
                                 generators, parallel_hook());
    s.batch_states.push_back(batch.states);
    s.batch_log_probs.push_back(batch.log_probs);
    finals.push_back(batch.final);
    s.prompts.insert(s.prompts.end(), prompts.begin(), prompts.end());
    if (progress) progress->step();
  }
  strategy_->after_forward_only();
  if (progress) progress->finish();
  stats.rollout_s = seconds_since(start);

  // Decode and score: one rank per sequence-parallel group (they all hold the same videos).
  const auto reward_start = Clock::now();
  const fs::path scratch = fs::path(config_.output_dir) / "scratch" / fmt::format("rank{}", comm_.rank());
  std::map<std::string, std::vector<double>> terms;
  for (size_t b = 0; b < finals.size() && scores(); ++b) {
    at::Tensor decoded;
    {
      at::NoGradGuard no_grad;
      decoded = vae::decode(*policy_.vae, finals[b]);
    }
    for (int64_t v = 0; v < decoded.size(0); ++v) {
      const int64_t index = static_cast<int64_t>(b) * config_.sample_batch_size + v;
      RewardVideo video(reward_frames(decoded, v), s.prompts[index], static_cast<double>(policy_.video.fps),
                        scratch.string(), index);
      const RewardScore score = reward_.score(video);
      s.rewards.push_back(score.value);
      for (const auto& [name, value] : score.terms) terms[name].push_back(value);
    }
  }
  if (!scores()) s.rewards.assign(s.prompts.size(), 0.0);  // the group's scorer sends them (compute_advantages)
  for (const auto& [name, values] : terms) stats.term_means[name] = mean_of(values);
  std::error_code ec;
  fs::remove_all(scratch, ec);
  stats.reward_s = seconds_since(reward_start);
  s.states = at::cat(s.batch_states, 1);
  s.log_probs = at::cat(s.batch_log_probs, 1);
  s.batch_states.clear();
  s.batch_log_probs.clear();
  return s;
}

void GrpoTrainer::compute_advantages(Samples& s, EpochStats& stats) {
  // Every rank knows every group's prompts (the sampler is deterministic); only rewards travel.
  const at::Tensor gathered =
      gather_from_scorers(at::tensor(s.rewards, at::TensorOptions().dtype(at::kDouble))).reshape(-1).contiguous();
  std::vector<double> all(gathered.data_ptr<double>(), gathered.data_ptr<double>() + gathered.numel());
  const int64_t n = static_cast<int64_t>(s.rewards.size());
  s.rewards.assign(all.begin() + data_rank() * n, all.begin() + (data_rank() + 1) * n);
  const PromptSamplerOptions sampler{data_ranks(), config_.sample_batch_size, config_.group_size, config_.seed};
  std::vector<std::string> all_prompts;
  for (int64_t r = 0; r < data_ranks(); ++r) {
    for (int64_t b = 0; b < config_.batches_per_epoch; ++b) {
      const int64_t se = sampler_epoch(epoch_, config_.batches_per_epoch, b);
      for (int64_t i : k_repeat_batch(static_cast<int64_t>(config_.prompt_list.size()), sampler, se, r)) {
        all_prompts.push_back(config_.prompt_list[i]);
      }
    }
  }
  AdvantageOptions options;
  options.group_size = config_.group_size;
  options.global_std = config_.global_std;
  const std::vector<double> advantages = group_advantages(all, all_prompts, options);
  stats.samples = static_cast<int64_t>(all.size());
  stats.reward_mean = mean_of(all);
  stats.reward_std = std_of(all);
  stats.adv_mean = mean_of(advantages);
  stats.adv_std = std_of(advantages);
  for (double a : advantages) stats.adv_abs_max = std::max(stats.adv_abs_max, std::abs(a));
  at::Generator g = keyed_generator(config_.seed, epoch_, data_rank(), kFilter);
  const FilteredAdvantages filtered =
      filter_advantages(rank_advantages(advantages, data_ranks(), data_rank()), config_.batches_per_epoch, g);
  s.kept = filtered.kept;
  s.advantages = filtered.advantages;
  const at::Tensor kept = at::tensor({static_cast<double>(s.kept.size())}, at::kDouble);
  stats.kept = static_cast<int64_t>(gather_from_scorers(kept).sum().item<double>());
}

at::Tensor GrpoTrainer::gather_from_scorers(const at::Tensor& mine) const {
  if (comm_.size() == 1) return mine.unsqueeze(0);
  const at::Tensor all = comm_.all_gather(mine.unsqueeze(0).contiguous(), 0);  // [world, n]
  if (!mesh_) return all;
  std::vector<int64_t> rows;
  for (int d = 0; d < data_ranks(); ++d) {
    parallel::MeshCoords scorer;
    scorer.dp = d;
    rows.push_back(parallel::mesh_rank(mesh_->groups().shape, scorer));
  }
  return all.index_select(0, at::tensor(rows, at::kLong));
}

void GrpoTrainer::update(Samples& s, EpochStats& stats) {
  const auto start = Clock::now();
  const RolloutSchedule& schedule = s.schedule;
  // The order of the kept samples (the same on every rank of a sequence-parallel group).
  at::Generator g = keyed_generator(config_.seed, epoch_, 0, kShuffle);
  const at::Tensor order = at::randperm(static_cast<int64_t>(s.kept.size()), g);
  const int64_t micro = config_.train_batch_size;
  const int64_t count = std::max<int64_t>(1, static_cast<int64_t>(s.kept.size()) / micro);
  const int64_t trained = schedule.trained;
  PolicyLossOptions loss_options{config_.clip_range, config_.adv_clip_max, config_.kl_beta};
  double loss_sum = 0, kl = 0, approx_kl = 0, clipfrac = 0, ratio = 0, grad_norm = 0;
  int64_t terms = 0;
  std::unique_ptr<Progress> progress;
  if (comm_.rank() == 0) progress = std::make_unique<Progress>("policy update", count * trained);
  for (int64_t m = 0; m < count; ++m) {
    std::vector<int64_t> rows;
    std::vector<double> adv;
    std::vector<std::string> prompts;
    for (int64_t k = m * micro; k < std::min<int64_t>((m + 1) * micro, static_cast<int64_t>(s.kept.size())); ++k) {
      const int64_t i = order[k].item<int64_t>();
      rows.push_back(s.kept[i]);
      adv.push_back(s.advantages[i]);
      prompts.push_back(s.prompts[s.kept[i]]);
    }
    const at::Tensor index = at::tensor(rows, at::kLong);
    const at::Tensor advantages = at::tensor(adv, at::TensorOptions().dtype(at::kFloat));
    const at::Tensor cond = policy_.context_batch(prompts), uncond = policy_.negative_batch(index.numel());
    strategy_->zero_grad();
    strategy_->before_forward();
    for (int64_t j = 0; j < trained; ++j) {
      const int64_t step = schedule.first_trained() + j;
      const diffusion::SdeCoefficients c = diffusion::sde_coefficients(schedule.grid, step);
      const at::Tensor x = s.states[j].index_select(0, index), target = s.states[j + 1].index_select(0, index);
      const at::Tensor t = at::full({index.numel()}, schedule.grid.timesteps[step], at::kFloat);
      const at::Tensor v_c = policy_.dit->forward(x, t, cond, parallel_hook()).to(at::kFloat);
      at::Tensor v = v_c;
      if (config_.guidance != 1.0) {
        at::Tensor v_u;
        {
          at::NoGradGuard no_grad;  // the unconditional branch is detached
          v_u = policy_.dit->forward(x, t, uncond, parallel_hook()).to(at::kFloat);
        }
        v = v_u + config_.guidance * (v_c - v_u);
      }
      PolicyLossInputs in;
      in.mean = diffusion::sde_mean(x, v, c);
      in.log_prob = diffusion::sde_log_prob(target, in.mean, c);
      in.old_log_prob = s.log_probs[j].index_select(0, index);
      in.advantages = advantages;
      in.noise_scale = c.noise_scale;
      if (config_.kl_beta > 0) {
        at::NoGradGuard no_grad;
        policy_.lora.set_enabled(false);  // the reference policy: the base, adapters bypassed
        dit::TextContext ref_cond(cond), ref_uncond(uncond);
        in.ref_mean = diffusion::sde_mean(x, guided_velocity(*policy_.dit, x, schedule.grid.timesteps[step], ref_cond,
                                                              ref_uncond, config_.guidance, parallel_hook()),
                                          c);
        policy_.lora.set_enabled(true);
      }
      const PolicyLossTerms l = rl::policy_loss(in, loss_options);
      (l.loss / static_cast<double>(trained)).backward();
      loss_sum += l.policy_loss.item<double>();
      kl += l.kl_loss.item<double>();
      approx_kl += l.approx_kl.item<double>();
      clipfrac += l.clipfrac.item<double>();
      ratio += l.mean_ratio.item<double>();
      ++terms;
      if (progress) progress->step();
    }
    strategy_->after_backward();
    // The mean gradient over the ranks (the training strategy of `osp train`: replicated, bucketed
    // all-reduces; fully sharded, each rank's shard); every rank gets the same bits.
    std::vector<at::Tensor> grads;
    for (auto& [name, p] : strategy_->owned()) {
      if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
      grads.push_back(p.grad());
    }
    strategy_->synchronize(0.0);
    const ClipResult clip = clipper_.observe(strategy_->global_grad_norm());
    if (clip.clipped) scale_gradients(grads, clip.scale);
    grad_norm += clip.norm;
    stats.clipped += clip.clipped ? 1 : 0;
    optimizer_->step(config_.optimizer.lr);
    if (optimizer_->steps() % config_.ema_interval == 0) ema_->update(strategy_->owned());
    strategy_->after_update();
    if (config_.window) window_.advance(config_.steps);
  }
  if (progress) progress->finish();
  strategy_->zero_grad();
  const double n = static_cast<double>(std::max<int64_t>(terms, 1));
  stats.policy_loss = loss_sum / n;
  stats.kl = kl / n;
  stats.approx_kl = approx_kl / n;
  stats.clipfrac = clipfrac / n;
  stats.mean_ratio = ratio / n;
  stats.grad_norm = grad_norm / static_cast<double>(count);
  stats.update_s = seconds_since(start);
}

EpochStats GrpoTrainer::run_epoch() {
  EpochStats stats;
  Samples samples = collect_rollouts(stats);
  compute_advantages(samples, stats);
  stats.rewards = samples.rewards;
  update(samples, stats);
  ++epoch_;
  stats.epoch = epoch_;
  stats.global_step = optimizer_->steps();
  if (config_.eval_every > 0 && epoch_ % config_.eval_every == 0) stats.eval_reward = evaluate();
  log_epoch(stats);
  return stats;
}

double GrpoTrainer::evaluate() {
  // The EMA adapter generates (every rank takes part in the forwards); the live one is restored
  // after. Rank 0 decodes, scores and draws the contact sheet; the others return NaN.
  const parallel::NamedTensors& owned = strategy_->owned();
  std::vector<at::Tensor> live;
  {
    at::NoGradGuard no_grad;
    for (size_t i = 0; i < owned.size(); ++i) {
      live.push_back(owned[i].second.detach().clone());
      owned[i].second.detach().copy_(ema_->weights()[i].second);
    }
  }
  strategy_->before_forward();
  const diffusion::Grid grid = diffusion::rl_grid(config_.eval_steps, config_.shift);
  const std::vector<int64_t> latent = policy_.latent_shape();
  const fs::path scratch = fs::path(config_.output_dir) / "scratch" / "eval";
  std::vector<double> rewards;
  std::vector<at::Tensor> clips;
  for (size_t i = 0; i < config_.eval_prompt_list.size(); ++i) {
    const std::string& prompt = config_.eval_prompt_list[i];
    at::Generator g = at::detail::createCPUGenerator(config_.eval_seed + i);
    std::vector<int64_t> shape = latent;
    shape.insert(shape.begin(), 1);
    const at::Tensor noise = at::normal(0.0, 1.0, shape, g, at::TensorOptions().dtype(at::kFloat));
    const at::Tensor x = sample_ode(*policy_.dit, noise, policy_.context_batch({prompt}), policy_.negative_batch(1),
                                    grid, config_.guidance, parallel_hook());
    if (comm_.rank() != 0) continue;
    at::Tensor decoded;
    {
      at::NoGradGuard no_grad;
      decoded = vae::decode(*policy_.vae, x);
    }
    RewardVideo video(reward_frames(decoded, 0), prompt, static_cast<double>(policy_.video.fps), scratch.string(),
                      static_cast<int64_t>(i));
    rewards.push_back(reward_.score(video).value);
    clips.push_back(decoded[0].clamp(-1.0, 1.0));
  }
  strategy_->after_forward_only();
  if (comm_.rank() == 0) {
    // Every evaluation sample, framed green when it scored the best reward of the evaluation.
    const double best = *std::max_element(rewards.begin(), rewards.end());
    std::vector<bool> marks;
    for (double r : rewards) marks.push_back(r >= best);
    const fs::path sheet = fs::path(config_.output_dir) / "eval" / fmt::format("epoch-{:04d}.png", epoch_);
    fs::create_directories(sheet.parent_path());
    io::write_png(sheet.string(), shapes::contact_sheet(clips, marks));
  }
  {
    at::NoGradGuard no_grad;
    for (size_t i = 0; i < owned.size(); ++i) owned[i].second.detach().copy_(live[i]);
  }
  if (comm_.rank() != 0) return std::numeric_limits<double>::quiet_NaN();
  std::error_code ec;
  fs::remove_all(scratch, ec);
  return mean_of(rewards);
}

void GrpoTrainer::log_epoch(const EpochStats& s) {
  if (comm_.rank() != 0) return;
  std::string terms;
  for (const auto& [name, value] : s.term_means) terms += fmt::format("  {} {:.3f}", name, value);
  log::info("epoch {}/{}  reward {:.4f} ± {:.4f}{}  kept {}/{}  loss {:.3e}  kl {:.3e}  clipfrac {:.3f}  ratio {:.5f}  "
            "grad {:.3e}  rollout {:.1f} s  reward {:.1f} s  update {:.1f} s{}",
            s.epoch, config_.epochs, s.reward_mean, s.reward_std, terms, s.kept, s.samples, s.policy_loss, s.kl, s.clipfrac,
            s.mean_ratio, s.grad_norm, s.rollout_s, s.reward_s, s.update_s,
            std::isnan(s.eval_reward) ? "" : fmt::format("  eval reward {:.4f}", s.eval_reward));
  const bool header = !fs::exists(csv_path(config_));
  std::ofstream csv(csv_path(config_), std::ios::app);
  if (header) {
    csv << kRlLogHeader;
    for (const auto& [name, value] : s.term_means) csv << ",reward_" << name;
    csv << "\n";
  }
  csv << fmt::format("{},{},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{},{},{:.6g},{:.6g},{:.6g},{:.6g},{:.8g},{:.6g},{},{:.3f},"
                     "{:.3f},{:.3f},{}",
                     s.epoch, s.global_step, s.reward_mean, s.reward_std, s.adv_mean, s.adv_std, s.adv_abs_max,
                     s.samples, s.kept, s.policy_loss, s.kl, s.approx_kl, s.clipfrac, s.mean_ratio, s.grad_norm,
                     s.clipped, s.rollout_s, s.reward_s, s.update_s,
                     std::isnan(s.eval_reward) ? std::string() : fmt::format("{:.6g}", s.eval_reward));
  for (const auto& [name, value] : s.term_means) csv << fmt::format(",{:.6g}", value);
  csv << "\n";
  reward_history_.emplace_back(s.epoch, s.reward_mean);
  std::vector<train::LossPoint> points;
  for (const auto& [epoch, reward] : reward_history_) points.push_back({epoch, reward});
  train::write_loss_curve((fs::path(config_.output_dir) / "reward_curve.svg").string(), points,
                          fmt::format("rl: mean reward per epoch ({} epochs)", s.epoch));
}

std::string GrpoTrainer::save_checkpoint() {
  std::string folder;
  train::TrainCheckpoint c;
  train::unshard_state(*strategy_, *ema_, *optimizer_, c);  // collective under full sharding
  if (comm_.rank() == 0) {
    c.model_config = {{"lora", {{"rank", config_.lora.rank}, {"alpha", config_.lora.alpha},
                                {"targets", config_.lora.targets}, {"base", policy_.base_identity}}}};
    c.step = optimizer_->steps();
    c.data_epoch = epoch_;
    c.seed = config_.seed;
    const nlohmann::json state = {{"epoch", epoch_},
                                  {"global_step", optimizer_->steps()},
                                  {"clipper", clipper_.state().to_json()},
                                  {"window", {{"start", window_.start}, {"counter", window_.counter}}},
                                  {"config", config_.source}};
    c.extra_files = {{"adapter_config.json", adapters::adapter_config(config_.lora).dump(2) + "\n"},
                     {"rl_state.json", state.dump(2) + "\n"}};
    folder = train::save_checkpoint(config_.output_dir, c);
    log::info("rl: checkpoint {}", folder);
  }
  comm_.barrier();
  return folder;
}

void GrpoTrainer::resume(const std::string& path) {
  const train::TrainCheckpoint c = train::load_checkpoint(path);
  const nlohmann::json saved = c.model_config.value("lora", nlohmann::json::object()).value("base", nlohmann::json());
  if (saved.value("sha256", "") != policy_.base_identity.value("sha256", "")) {
    fail_about(path, "this RL checkpoint was trained on the base {} (sha256 {}), but the config's base is {} (sha256 {})",
               saved.value("path", "?"), saved.value("sha256", "?"), policy_.base_identity.value("path", "?"),
               policy_.base_identity.value("sha256", "?"));
  }
  train::reshard_state(*strategy_, c, *ema_, *optimizer_);
  optimizer_->set_steps(c.step);
  const auto state_file = c.extra_files.find("rl_state.json");
  if (state_file == c.extra_files.end()) fail_about(path, "is not an RL checkpoint (no rl_state.json)");
  const nlohmann::json state = nlohmann::json::parse(state_file->second, nullptr, false);
  if (state.is_object() && state.contains("clipper")) clipper_.load_state(AdaptiveClipState::from_json(state["clipper"]));
  if (state.is_object() && state.contains("window")) {
    window_.start = state["window"].value("start", window_.start);
    window_.counter = state["window"].value("counter", window_.counter);
  }
  epoch_ = c.data_epoch;
  if (comm_.rank() == 0) {
    // The CSV keeps the rows up to the checkpoint's epoch.
    std::ifstream in(csv_path(config_));
    std::string text, line;
    reward_history_.clear();
    if (std::getline(in, line)) text = line + "\n";
    while (std::getline(in, line)) {
      const int64_t e = std::atoll(line.substr(0, line.find(',')).c_str());
      if (e > epoch_) continue;
      text += line + "\n";
      const size_t a = line.find(',', line.find(',') + 1), b = line.find(',', a + 1);
      reward_history_.emplace_back(e, std::atof(line.substr(a + 1, b - a - 1).c_str()));
    }
    if (!text.empty()) io::write_file_atomically(csv_path(config_), text);
  }
  log::info("rl: resumed at epoch {} (step {}) from {}", epoch_, c.step, path);
}

parallel::NamedTensors GrpoTrainer::adapter() const {
  return strategy_->unshard(train::tensors_of(strategy_->owned()));
}

std::vector<EpochStats> GrpoTrainer::run() {
  std::vector<EpochStats> all;
  int64_t saved = -1;
  while (epoch_ < config_.epochs) {
    all.push_back(run_epoch());
    if (epoch_ % config_.checkpoint_every == 0) {
      save_checkpoint();
      saved = epoch_;
    }
  }
  if (saved != epoch_) save_checkpoint();
  return all;
}

}  // namespace osp::rl
