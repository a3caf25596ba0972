// osp train --config FILE.yaml [--resume DIR]: flow-matching SFT of a DiT (train/trainer.h) on a
// cached manifest of `osp data cache` (or synthetic latents), or a VAE on video clips, on one process or data-parallel under
// a launcher (torchrun / mpirun / Slurm environment). The whole config is checked before anything
// is built: an unknown field or an impossible value ends with "error: FILE: field: …" and exit 1.
#include "commands.h"
#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/core/runtime.h"
#include "osp/core/timer.h"
#include "osp/parallel/join_launcher.h"
#include "osp/train/trainer.h"

namespace osp::cli {

namespace {

struct TrainCliOptions {
  std::string config;
  std::string resume;
};

void run_train(const TrainCliOptions& o, const GlobalOptions& global) {
  const train::TrainConfig config = train::TrainConfig::from_file(o.config);
  const int threads = global.threads > 0 ? global.threads : config.threads;
  if (threads > 0) set_threads(threads);
  const std::unique_ptr<parallel::World> world = parallel::join_launcher(threads);

  StageTimer timer("train");
  train::Trainer trainer = world ? train::Trainer(config, train::make_objective(config), *world)
                                  : train::Trainer(config, train::make_objective(config));
  if (!o.resume.empty()) trainer.resume(o.resume);
  const std::vector<train::StepStats> stats = trainer.run();
  timer.done();
  if (!stats.empty()) {
    log::info("train: {} steps in this run, last loss {:.5f}; logs in {}", stats.size(), stats.back().loss,
              config.output_dir);
  }
}

}  // namespace

void register_train(CLI::App& app, const GlobalOptions& global) {
  auto options = std::make_shared<TrainCliOptions>();
  CLI::App* cmd = app.add_subcommand("train", "Train a DiT (flow matching, docs/sampling.md 'Training noise schedule') or a VAE (L1 + KL) from a YAML config");
  cmd->add_option("--config", options->config, "training config (YAML, docs/training.md)")->required();
  cmd->add_option("--resume", options->resume,
                  "continue from a checkpoint folder, or the newest checkpoint of an output folder");
  cmd->callback([options, &global] {
    apply_global_options(global);
    run_train(*options, global);
  });
}

}  // namespace osp::cli
