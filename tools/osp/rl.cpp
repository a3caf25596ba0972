// osp rl --config FILE.yaml [--resume DIR]: Mix-GRPO + LoRA post-training of a DiT bundle
// (src/osp/rl, docs/rl.md), on one process or under a launcher (data parallel, fully sharded,
// sequence parallel: the config's parallel section). The whole config is
// checked (fields, prompt files, reward terms) before any model is loaded.
#include "commands.h"
#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/core/runtime.h"
#include "osp/core/timer.h"
#include "osp/parallel/join_launcher.h"
#include "osp/rl/grpo_trainer.h"
#include "osp/rl/reward_factory.h"

namespace osp::cli {
namespace {

struct RlCliOptions {
  std::string config;
  std::string resume;
};

void run_rl(const RlCliOptions& o, const GlobalOptions& global) {
  const rl::RlConfig config = rl::RlConfig::from_file(o.config);
  const std::unique_ptr<parallel::World> world = parallel::join_launcher(global.threads);
  StageTimer timer("rl");
  std::unique_ptr<rl::GrpoTrainer> made =
      world ? std::make_unique<rl::GrpoTrainer>(config, rl::make_reward(config.rewards), *world)
            : std::make_unique<rl::GrpoTrainer>(config, rl::make_reward(config.rewards));
  rl::GrpoTrainer& trainer = *made;
  if (!o.resume.empty()) trainer.resume(o.resume);
  const std::vector<rl::EpochStats> stats = trainer.run();
  timer.done();
  if (!stats.empty()) {
    log::info("rl: {} epochs in this run, last mean reward {:.4f}; logs in {}", stats.size(), stats.back().reward_mean,
              config.output_dir);
  }
}

}  // namespace

void register_rl(CLI::App& app, const GlobalOptions& global) {
  auto options = std::make_shared<RlCliOptions>();
  CLI::App* cmd = app.add_subcommand("rl", "Mix-GRPO + LoRA RL post-training of a DiT from a YAML config");
  cmd->add_option("--config", options->config, "RL config (YAML, docs/rl.md)")->required();
  cmd->add_option("--resume", options->resume,
                  "continue from a checkpoint folder, or the newest checkpoint of an output folder");
  cmd->callback([options, &global] {
    apply_global_options(global);
    run_rl(*options, global);
  });
}

}  // namespace osp::cli
