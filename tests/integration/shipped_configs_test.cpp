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
  for (const char* recipe_stage : {"tiny-vae.yaml", "tiny-vae-17.yaml", "tiny-dit.yaml"}) {
    EXPECT_EQ(parsed.count(recipe_stage), 1u) << recipe_stage << " is a stage of scripts/train-osp-next-tiny.sh";
  }
}

// The recipe ships stage 2's VAE and caches the DiT's latents with its encoder: stage 2 continues
// stage 1 with the same architecture, trains the encoder too, and the DiT's patches tile its grid.
TEST(ShippedConfigs, ShippedVaeIsTheStageThatMadeTheCachedLatents) {
  const TrainConfig stage1 = TrainConfig::from_file((kConfigs / "tiny-vae.yaml").string());
  const TrainConfig stage2 = TrainConfig::from_file((kConfigs / "tiny-vae-17.yaml").string());
  ASSERT_TRUE(stage2.trains_vae());
  EXPECT_FALSE(stage2.freeze_encoder);
  EXPECT_NE(stage2.model_weights.find("runs/tiny-vae/"), std::string::npos) << stage2.model_weights;
  EXPECT_EQ(stage2.vae->to_json(), stage1.vae->to_json());
  const TrainConfig dit = TrainConfig::from_file((kConfigs / "tiny-dit.yaml").string());
  EXPECT_EQ(dit.model.in_dim, stage1.vae->z_dim);
  EXPECT_EQ(64 / stage1.vae->space_factor() % dit.model.patch_size[1], 0);
}

}  // namespace
