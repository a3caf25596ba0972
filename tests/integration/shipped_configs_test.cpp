// The training configs of the shipped model's recipe (scripts/train-osp-next-tiny.sh) parse, so a
// typo or a renamed field fails here rather than hours into a reproduction.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "osp/train/train_config.h"

namespace {

namespace fs = std::filesystem;
using osp::train::TrainConfig;

const fs::path kConfigs = fs::path(OSP_SOURCE_DIR) / "configs" / "train";

TEST(ShippedConfigs, EveryTrainingConfigParses) {
  std::set<std::string> parsed;
  for (const auto& entry : fs::directory_iterator(kConfigs)) {
    if (entry.path().extension() != ".yaml") continue;
    EXPECT_NO_THROW(TrainConfig::from_file(entry.path().string())) << entry.path();
    parsed.insert(entry.path().filename().string());
  }
  for (const char* recipe_stage : {"tiny-vae.yaml", "tiny-vae-stage2.yaml", "tiny-vae-decoder.yaml", "tiny-vae-objects.yaml",
                                   "tiny-vae-motion.yaml", "tiny-dit.yaml", "tiny-dit-objects.yaml"}) {
    EXPECT_EQ(parsed.count(recipe_stage), 1u) << recipe_stage << " is a stage of scripts/train-osp-next-tiny.sh";
  }
}

// The recipe caches the DiT's latents with the stage-4 encoder and ships the stage-5 VAE: valid only
// while stage 5 leaves the encoder as stage 4 wrote it.
TEST(ShippedConfigs, FinalVaeStageKeepsTheCachedLatentSpace) {
  const TrainConfig stage5 = TrainConfig::from_file((kConfigs / "tiny-vae-motion.yaml").string());
  ASSERT_TRUE(stage5.trains_vae());
  EXPECT_TRUE(stage5.freeze_encoder);
  EXPECT_NE(stage5.model_weights.find("tiny-vae-objects"), std::string::npos) << stage5.model_weights;
}

}  // namespace
