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
  for (const char* recipe_stage : {"tiny-vae.yaml", "tiny-vae-17.yaml", "tiny-vae-sharp.yaml", "tiny-dit.yaml"}) {
    EXPECT_EQ(parsed.count(recipe_stage), 1u) << recipe_stage << " is a stage of scripts/train-osp-next-tiny.sh";
  }
}

// The recipe caches the DiT's latents with the stage-2 encoder and ships the stage-3 VAE: valid only
// while stage 3 leaves the encoder as stage 2 wrote it, and the DiT's patches tile the VAE's grid.
TEST(ShippedConfigs, FinalVaeStageKeepsTheCachedLatentSpace) {
  const TrainConfig stage1 = TrainConfig::from_file((kConfigs / "tiny-vae.yaml").string());
  const TrainConfig stage2 = TrainConfig::from_file((kConfigs / "tiny-vae-17.yaml").string());
  const TrainConfig stage3 = TrainConfig::from_file((kConfigs / "tiny-vae-sharp.yaml").string());
  ASSERT_TRUE(stage3.trains_vae());
  EXPECT_TRUE(stage3.freeze_encoder);
  EXPECT_FALSE(stage2.freeze_encoder);
  EXPECT_NE(stage2.model_weights.find("runs/tiny-vae/"), std::string::npos) << stage2.model_weights;
  EXPECT_NE(stage3.model_weights.find("runs/tiny-vae-17/"), std::string::npos) << stage3.model_weights;
  EXPECT_EQ(stage2.vae->to_json(), stage1.vae->to_json());
  EXPECT_EQ(stage3.vae->to_json(), stage1.vae->to_json());
  const TrainConfig dit = TrainConfig::from_file((kConfigs / "tiny-dit.yaml").string());
  EXPECT_EQ(dit.model.in_dim, stage1.vae->z_dim);
  EXPECT_EQ(64 / stage1.vae->space_factor() % dit.model.patch_size[1], 0);
}

}  // namespace
