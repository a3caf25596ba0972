#pragma once
// Training runs on several Gloo ranks (threads of the test process) and on one process, with what
// the parity tests compare: per-step stats, whole weights and EMA, and the traffic of the last step.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "run_ranks.h"
#include "test_util.h"
#include "osp/parallel/comm_counters.h"
#include "osp/train/trainer.h"

namespace osp::test {

// eps 1e-4: Adam divides by √v + eps, which turns gradient components at rounding level (where
// summation orders differ) into full-size steps with eps 1e-8.
inline const std::string kParityOptimizer =
    "optimizer: {lr: 2.0e-3, eps: 1.0e-4, warmup_steps: 2, weight_decay: 0.01}\n";

inline std::string run_section(int64_t steps, int64_t batch) {
  return "steps: " + std::to_string(steps) + "\nbatch_size: " + std::to_string(batch) +
         "\nprecision: fp32\ncaption_dropout: 0.3\nema_decay: 0.9\nseed: 2\n";
}

struct RankRun {
  std::vector<train::StepStats> stats;
  parallel::NamedTensors weights;
  parallel::NamedTensors ema;
  parallel::CommCount traffic;  // of the last step
};

inline parallel::CommCount total(const parallel::CommCounters& counters) {
  parallel::CommCount sum;
  for (int s = 0; s < parallel::kCommSites; ++s) {
    const auto& c = counters.at(static_cast<parallel::CommSite>(s));
    sum.collectives += c.collectives;
    sum.bytes_sent += c.bytes_sent;
    sum.bytes_off_rank += c.bytes_off_rank;
  }
  return sum;
}

inline parallel::NamedTensors whole_ema(const train::Trainer& trainer) {
  std::vector<at::Tensor> t;
  for (const auto& item : trainer.ema().weights()) t.push_back(item.second);
  return trainer.strategy().unshard(t);
}

// `steps` steps of the config `yaml` on `ranks` ranks (the same output folder for every rank: rank 0
// writes); `inspect(world, trainer)` runs on every rank after the last step.
inline std::vector<RankRun> train_on_ranks(
    int ranks, int64_t steps, const std::string& yaml, std::chrono::milliseconds timeout,
    const std::function<void(parallel::World&, train::Trainer&)>& inspect = {}) {
  std::vector<RankRun> runs(static_cast<size_t>(ranks));
  run_ranks(
      ranks,
      [&](parallel::World& world) {
        RankRun& mine = runs[static_cast<size_t>(world.rank())];
        const train::TrainConfig config = train::TrainConfig::from_yaml(yaml);
        train::Trainer trainer(config, train::make_objective(config), world);
        for (int64_t s = 0; s < steps; ++s) {
          world.counters().reset();
          mine.stats.push_back(trainer.step());
        }
        mine.traffic = total(world.counters());
        mine.weights = trainer.weights();
        mine.ema = whole_ema(trainer);
        if (inspect) inspect(world, trainer);
      },
      timeout);
  return runs;
}

inline RankRun train_in_one_process(int64_t steps, const std::string& yaml) {
  RankRun run;
  const train::TrainConfig config = train::TrainConfig::from_yaml(yaml);
  train::Trainer trainer(config, train::make_objective(config));
  for (int64_t s = 0; s < steps; ++s) run.stats.push_back(trainer.step());
  run.weights = trainer.weights();
  run.ema = whole_ema(trainer);
  return run;
}

// Relative error of all the named tensors together (one vector) against the reference.
inline double global_error(const parallel::NamedTensors& got, const parallel::NamedTensors& expected) {
  std::map<std::string, at::Tensor> by_name(got.begin(), got.end());
  std::vector<at::Tensor> a, b;
  for (const auto& [name, t] : expected) {
    if (!by_name.count(name)) continue;  // worst_error reports it
    a.push_back(by_name.at(name).reshape(-1));
    b.push_back(t.reshape(-1));
  }
  return rel_error(at::cat(a), at::cat(b));
}

// Worst relative error of named tensors against the reference (by name; every name present).
inline double worst_error(const parallel::NamedTensors& got, const parallel::NamedTensors& expected) {
  std::map<std::string, at::Tensor> by_name(got.begin(), got.end());
  EXPECT_EQ(got.size(), expected.size());
  double worst = 0;
  for (const auto& [name, t] : expected) {
    if (!by_name.count(name)) {
      ADD_FAILURE() << "missing " << name;
      continue;
    }
    worst = std::max(worst, rel_error(by_name.at(name), t));
  }
  return worst;
}

// Every rank reports the same loss and grad norm and holds the same weights.
inline void expect_ranks_agree(const std::vector<RankRun>& runs) {
  for (const RankRun& r : runs) {
    for (size_t s = 0; s < r.stats.size(); ++s) {
      EXPECT_EQ(r.stats[s].loss, runs[0].stats[s].loss);
      EXPECT_EQ(r.stats[s].grad_norm, runs[0].stats[s].grad_norm);
    }
    for (size_t i = 0; i < r.weights.size(); ++i) EXPECT_TRUE(at::equal(r.weights[i].second, runs[0].weights[i].second));
  }
}

}  // namespace osp::test
