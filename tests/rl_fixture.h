#pragma once
// The fixture of the RL tests (rl_test.cpp, rl_parallel_test.cpp): a tiny random bundle with a
// prompt file, a small RL config on it, and a reward a LoRA can learn in a few epochs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "scratch_dir.h"
#include "osp/pipeline/tiny_bundle.h"
#include "osp/rl/grpo_trainer.h"
#include "osp/rl/reward.h"

namespace osp::test {

// The mean brightness of the frames: a reward a LoRA can learn in a few epochs.
class Brightness : public rl::RewardTerm {
 public:
  std::string describe() const override { return "brightness"; }
  rl::RewardScore score(rl::RewardVideo& video) override {
    return {video.frames().mean().item<double>(), {}};
  }
};

inline rl::Reward brightness() {
  rl::Reward r;
  r.add("brightness", 1.0, std::make_unique<Brightness>());
  return r;
}

class RlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    bundle_ = new ScratchDir("osp_rl_bundle");
    pipeline::write_tiny_bundle(bundle_->path().string(), {});
    std::ofstream(bundle_->path() / "prompts.txt") << "# training prompts\n"
                                                      "a red circle moving left on a black background\n"
                                                      "a blue square moving up on a white background\n"
                                                      "\n"
                                                      "a green triangle growing on a black background\n";
  }
  static void TearDownTestSuite() {
    delete bundle_;
    bundle_ = nullptr;
  }

  static std::string yaml(const std::string& out, const std::string& extra = "") {
    return "model: " + bundle_->path().string() + "\n" +
           "prompts: " + (bundle_->path() / "prompts.txt").string() + "\n" +
           "lora: {rank: 4, alpha: 8}\n"
           "video: {width: 32, height: 32, frames: 5}\n"
           "sampling: {steps: 6, sde_steps: 3, guidance: 3.0}\n"
           "group_size: 4\nsample_batch_size: 4\ntrain_batch_size: 2\nbatches_per_epoch: 2\n"
           "optimizer: {lr: 0.02}\n"
           "ema: {decay: 0.5}\n"
           "policy: {clip_range: 0.2, kl_beta: 0.01}\n"
           "rewards: [{type: command, command: unused}]\n"
           "precision: fp32\nseed: 7\n"
           "output_dir: " + out + "\n" + extra;
  }
  static rl::RlConfig config(const std::string& out, const std::string& extra = "") {
    return rl::RlConfig::from_yaml(yaml(out, extra), "rl.yaml");
  }

  static inline ScratchDir* bundle_ = nullptr;
};

}  // namespace osp::test
