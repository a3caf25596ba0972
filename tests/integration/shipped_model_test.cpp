// The shipped default model models/osp-next-tiny (its card: models/osp-next-tiny/README.md): complete, small, bf16, an OSP-Next
// model, and what `osp generate` runs without --model — drawing what the README's prompt asks for.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "run_osp.h"
#include "../scratch_dir.h"
#include "osp/io/tensor_source.h"
#include "osp/models/dit/config.h"
#include "osp/models/t5/config.h"
#include "osp/models/vae/config.h"
#include "osp/models/vae/latent_preview.h"
#include "osp/pipeline/bundle.h"
#include "osp/pipeline/text_to_video.h"
#include "osp/shapes/measure.h"

namespace {

namespace fs = std::filesystem;
using osp::test::run_osp;

const fs::path kModel = fs::path(OSP_SOURCE_DIR) / "models" / "osp-next-tiny";

// The model is committed (the README's first commands run it): a checkout without it is broken, not "not yet shipped".
#define REQUIRE_SHIPPED() ASSERT_TRUE(fs::is_directory(kModel)) << kModel << " is missing from the checkout"

TEST(ShippedModel, IsACompleteSmallBf16OspNextBundle) {
  REQUIRE_SHIPPED();
  ASSERT_TRUE(fs::is_regular_file(kModel / "config.json")) << kModel;
  const osp::pipeline::ModelBundle bundle = osp::pipeline::resolve_bundle(kModel.string());
  EXPECT_EQ(bundle.layout, "osp bundle");
  const auto dit = osp::dit::DiTConfig::from_file((kModel / "dit" / "config.json").string());
  const auto t5 = osp::t5::T5Config::from_file((kModel / "text_encoder" / "config.json").string());
  const auto vae = osp::vae::VaeConfig::from_file((kModel / "vae" / "config.json").string());
  osp::pipeline::check_components_fit(dit, t5, vae);
  EXPECT_EQ(dit.skiparse_model_type, "dual_end");
  EXPECT_EQ(dit.sparse_ratio, 2);
  EXPECT_TRUE(fs::is_regular_file(kModel / "README.md"));  // the model card
  // The library's preview callback needs the VAE's fitted latent → RGB map.
  EXPECT_NO_THROW(osp::vae::read_latent_preview((kModel / "vae" / "latent_preview.json").string(), vae.z_dim));

  int64_t bytes = 0;
  for (const auto& entry : fs::recursive_directory_iterator(kModel)) {
    if (entry.is_regular_file()) bytes += static_cast<int64_t>(entry.file_size());
  }
  EXPECT_LE(bytes, 40'000'000);
  for (const char* weights : {"dit/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors",
                              "vae/diffusion_pytorch_model.safetensors"}) {
    const auto source = osp::io::open_tensor_source((kModel / weights).string());
    for (const std::string& name : source->names()) {
      EXPECT_EQ(source->meta(name).dtype, osp::io::DType::kBF16) << weights << ": " << name;
    }
  }
}

// The README's main command, with no --model: the default model is found next to the binary's
// checkout, and the video shows the prompt's colours and motion.
TEST(ShippedModel, GeneratesTheReadmePromptWithoutAModelFlag) {
  REQUIRE_SHIPPED();
  const osp::test::ScratchDir dir;
  const fs::path out = dir / "out.safetensors";
  const auto r = run_osp("generate -p \"a red circle moving right on a black background\" -o " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const at::Tensor frames = osp::io::open_tensor_source(out.string())->load("frames");
  const osp::shapes::ClipMeasurement m = osp::shapes::measure_clip(frames);
  EXPECT_EQ(m.background, osp::shapes::Color::kBlack);
  ASSERT_TRUE(m.object.has_value());
  EXPECT_EQ(*m.object, osp::shapes::Color::kRed);
  ASSERT_TRUE(m.motion.has_value());
  EXPECT_EQ(*m.motion, osp::shapes::Motion::kRight);
}

}  // namespace
