// Mix-GRPO + LoRA post-training end to end on a tiny random bundle (src/osp/rl, docs/rl.md): config
// errors name the field, the first policy update sees ratio 1 and zero KL, gradients reach only
// the adapter, a learnable reward rises, checkpoints resume exactly, another base is refused, a
// dead scorer ends the run naming it (several ranks: rl_parallel_test.cpp).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "expect_error.h"
#include "rl_fixture.h"
#include "scratch_dir.h"
#include "osp/rl/reward_factory.h"

namespace {

namespace fs = std::filesystem;
using osp::rl::GrpoTrainer;
using osp::rl::RlConfig;
using osp::test::brightness;
using osp::test::RlTest;

// A term that fails on its n-th video.
class FailingTerm : public osp::rl::RewardTerm {
 public:
  explicit FailingTerm(int after) : after_(after) {}
  std::string describe() const override { return "failing scorer"; }
  osp::rl::RewardScore score(osp::rl::RewardVideo&) override {
    if (calls_++ >= after_) osp::fail("the scorer process died");
    return {0.5, {}};
  }

 private:
  int after_, calls_ = 0;
};

TEST_F(RlTest, ConfigErrorsNameTheField) {
  const osp::test::ScratchDir dir;
  const auto parse = [&](const std::string& text) { return [text] { RlConfig::from_yaml(text, "rl.yaml"); }; };
  const std::string good = yaml(dir / "out");
  const auto with = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  osp::test::expect_error(parse(with("group_size: 4", "group_size: 1")), {"rl.yaml", "group_size", "at least 2"});
  osp::test::expect_error(parse(with("sde_steps: 3", "sde_steps: 9")), {"sde_steps", "steps"});
  osp::test::expect_error(parse(with("rewards: [{type: command, command: unused}]", "rewards: [{type: command}]")),
                          {"rewards[0].command", "scorer command"});
  osp::test::expect_error(parse(with("rewards: [{type: command, command: unused}]", "rewards: []")), {"rewards"});
  osp::test::expect_error(parse(with("rewards: [{type: command, command: unused}]",
                                     "rewards: [{type: command, command: unused, graded: true}]")),
                          {"rewards[0].graded", "only a shapes reward"});
  osp::test::expect_error(parse(with("group_size: 4", "group_sise: 4")), {"group_sise", "unknown field"});
  osp::test::expect_error(parse(with((bundle_->path() / "prompts.txt").string(), (dir / "none.txt"))), {"none.txt"});
  std::ofstream(dir / "empty.txt") << "# nothing\n\n";
  osp::test::expect_error(parse(with((bundle_->path() / "prompts.txt").string(), (dir / "empty.txt"))),
                          {"empty.txt", "no prompt"});
  EXPECT_EQ(config(dir / "out").prompt_list.size(), 3u);
  // A rollout batch must hold whole groups.
  const RlConfig split_group = RlConfig::from_yaml(with("sample_batch_size: 4", "sample_batch_size: 2"), "rl.yaml");
  osp::test::expect_error([&] { GrpoTrainer(split_group, brightness()); }, {"sample_batch_size", "group_size"});
}

TEST_F(RlTest, FirstUpdateHasRatioOneAndNoKlAndGradientsOnlyInTheAdapter) {
  const osp::test::ScratchDir dir;
  // One batch, one micro-batch: the update sees exactly the policy that sampled.
  RlConfig c = config(dir / "out", "epochs: 1\n");
  c.batches_per_epoch = 1;
  c.train_batch_size = 4;
  GrpoTrainer trainer(c, brightness());
  const auto before = trainer.policy().dit->named_parameters();
  std::map<std::string, at::Tensor> base;
  for (const auto& item : before) base[item.key()] = item.value().detach().clone();
  const osp::rl::EpochStats s = trainer.run_epoch();
  std::printf("[ rl       ] first update: mean ratio %.9f, kl %.3g, approx kl %.3g, kept %lld\n", s.mean_ratio, s.kl,
              s.approx_kl, static_cast<long long>(s.kept));
  EXPECT_NEAR(s.mean_ratio, 1.0, 1e-5);
  EXPECT_LE(s.kl, 1e-9);
  EXPECT_EQ(s.global_step, 1);
  for (const auto& item : trainer.policy().dit->named_parameters()) {
    EXPECT_TRUE(at::equal(item.value(), base.at(item.key()))) << item.key();
    EXPECT_FALSE(item.value().grad().defined()) << item.key();
  }
  // The adapter moved (B was zero).
  EXPECT_GT(trainer.policy().lora.entries()[0].delta->up.abs().sum().item<double>(), 0.0);
}

TEST_F(RlTest, ALearnableRewardRisesAndCheckpointsResumeExactly) {
  const osp::test::ScratchDir dir;
  GrpoTrainer whole(config(dir / "a", "epochs: 6\ncheckpoint_every: 3\n"), brightness());
  const auto uninterrupted = whole.run();
  ASSERT_EQ(uninterrupted.size(), 6u);
  std::printf("[ rl       ] brightness per epoch:");
  for (const auto& s : uninterrupted) std::printf(" %.4f", s.reward_mean);
  std::printf("\n");
  EXPECT_GT(uninterrupted[5].reward_mean + uninterrupted[4].reward_mean,
            uninterrupted[0].reward_mean + uninterrupted[1].reward_mean + 0.01);
  const std::string last = (dir.path() / "a" / "checkpoints" /
                            fmt::format("step-{:08d}", uninterrupted.back().global_step)).string();
  for (const char* file : {"model.safetensors", "ema.safetensors", "optimizer.safetensors", "adapter_config.json",
                           "rl_state.json"}) {
    EXPECT_TRUE(fs::exists(fs::path(last) / file)) << file;
  }
  EXPECT_TRUE(fs::exists(dir.path() / "a" / "rl_log.csv"));
  EXPECT_TRUE(fs::exists(dir.path() / "a" / "reward_curve.svg"));

  // A run of 3 epochs, then another process continues its output folder to 6.
  GrpoTrainer(config(dir / "b", "epochs: 3\n"), brightness()).run();
  GrpoTrainer resumed(config(dir / "b", "epochs: 6\n"), brightness());
  resumed.resume(dir / "b");
  EXPECT_EQ(resumed.epochs_done(), 3);
  const auto continued = resumed.run();
  ASSERT_EQ(continued.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(continued[i].rewards, uninterrupted[3 + i].rewards) << "epoch " << 4 + i;
    EXPECT_EQ(continued[i].policy_loss, uninterrupted[3 + i].policy_loss) << "epoch " << 4 + i;
  }
}

// The reward terms as a user writes them: the Shapes measurement and an external scorer process
// (scripts/reward_brightness.py), weighted; per-term means in the log; the evaluation's contact sheet.
TEST_F(RlTest, ShapesAndCommandRewardsFromTheConfigRunAnEpochWithEvaluation) {
  const osp::test::ScratchDir dir;
  std::string text = yaml(dir / "out", "epochs: 1\neval: {prompts: " + (bundle_->path() / "prompts.txt").string() +
                                           ", every: 1, steps: 3}\n");
  const std::string scorer = std::string(OSP_FIXTURE_PYTHON) + " " + OSP_SOURCE_DIR + "/scripts/reward_brightness.py";
  text.replace(text.find("rewards: [{type: command, command: unused}]"), 43,
               "rewards: [{type: shapes, weight: 0.5}, {type: command, command: \"" + scorer + "\", weight: 0.5}]");
  const RlConfig c = RlConfig::from_yaml(text, "rl.yaml");
  GrpoTrainer trainer(c, osp::rl::make_reward(c.rewards));
  const osp::rl::EpochStats s = trainer.run_epoch();
  ASSERT_TRUE(s.term_means.count("shapes") && s.term_means.count("command") && s.term_means.count("shapes.motion"));
  EXPECT_NEAR(s.reward_mean, 0.5 * s.term_means.at("shapes") + 0.5 * s.term_means.at("command"), 1e-9);
  EXPECT_GT(s.term_means.at("command"), 0.0);  // mean brightness of real frames
  EXPECT_FALSE(std::isnan(s.eval_reward));
  EXPECT_TRUE(fs::exists(dir.path() / "out" / "eval" / "epoch-0001.png"));
  std::ifstream csv(dir.path() / "out" / "rl_log.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_NE(header.find(",reward_command"), std::string::npos) << header;
  EXPECT_NE(header.find(",reward_shapes.color"), std::string::npos) << header;
}

TEST_F(RlTest, ADeadScorerEndsTheRunNamingItAndTheLastCheckpointStays) {
  const osp::test::ScratchDir dir;
  osp::rl::Reward failing;
  failing.add("command", 1.0, std::make_unique<FailingTerm>(12));
  GrpoTrainer trainer(config(dir / "out", "epochs: 3\n"), std::move(failing));
  osp::test::expect_error([&] { trainer.run(); }, {"failing scorer", "died", " background"});
  EXPECT_EQ(trainer.epochs_done(), 1);
  const fs::path checkpoint = dir.path() / "out" / "checkpoints" / fmt::format("step-{:08d}", trainer.global_step());
  EXPECT_TRUE(fs::exists(checkpoint / "model.safetensors")) << checkpoint;
}

TEST_F(RlTest, ResumingOnAnotherBaseIsRefused) {
  const osp::test::ScratchDir dir;
  GrpoTrainer first(config(dir / "a", "epochs: 1\n"), brightness());
  first.run();
  const osp::test::ScratchDir other("osp_other_base");
  osp::pipeline::TinyBundleOptions seed;
  seed.seed = 5;
  osp::pipeline::write_tiny_bundle(other.path().string(), seed);
  std::string text = yaml(dir / "b", "epochs: 2\n");
  text.replace(text.find(bundle_->path().string()), bundle_->path().string().size(), other.path().string());
  GrpoTrainer second(RlConfig::from_yaml(text, "rl.yaml"), brightness());
  osp::test::expect_error([&] { second.resume(dir / "a"); }, {"trained on the base", "sha256"});
}

}  // namespace
