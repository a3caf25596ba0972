// `osp generate` end to end through the binary, on a tiny bundle from `osp init-bundle`: the
// README's first command writes a video; a prompt file gives one file per prompt and survives a
// failed prompt; bad flags fail at once with exit code 1 and a message naming the flag.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../scratch_dir.h"
#include "osp/io/tensor_source.h"
#include "osp/io/video_reader.h"
#include "run_osp.h"
#include "tiny_bundle_suite.h"

namespace {

namespace fs = std::filesystem;
using osp::test::expect_cli_error;
using osp::test::run_osp;

class GenerateCli : public osp::test::TinyBundleSuite<GenerateCli> {
 public:
  static constexpr const char* kBundlePrefix = "osp_generate_cli";

 protected:
  // Quick flags on the tiny bundle.
  static std::string model_args(int frames = 5) {
    return "--model " + *bundle_ + " -W 32 -H 32 --steps 2 --frames " + std::to_string(frames);
  }
};

TEST_F(GenerateCli, WritesAVideoWithProgressAndStageTimings) {
  const osp::test::ScratchDir dir;
  const std::string out = dir / "out.mp4";
  const auto r = run_osp("generate -p \"a red circle moving right on a black background\" " + model_args(9) +
                             " -o " + out,
                         "info");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* part : {"sampling", "stage times", "peak memory", "wrote"}) {
    EXPECT_NE(r.output.find(part), std::string::npos) << part << " in:\n" << r.output;
  }
  const osp::io::Video video = osp::io::read_video(out);
  EXPECT_EQ(video.frames.sizes(), (std::vector<int64_t>{3, 9, 32, 32}));
  EXPECT_NEAR(video.fps, 16.0, 1e-6);
}

TEST_F(GenerateCli, PromptFileGivesOneOutputPerPromptAndSurvivesAFailedPrompt) {
  const osp::test::ScratchDir dir;
  const std::string prompts = dir / "prompts.txt";
  std::ofstream(prompts) << "a red circle moving left on a black background\n"
                            "\n"
                            "a blue square moving up on a white background\n";
  const auto r = run_osp("generate --prompts " + prompts + " " + model_args() + " -o " + (dir / "clip.gif"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("clip_001.gif: prompt: is empty"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1 of 3 generation(s) failed"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(dir / "clip_000.gif"));
  EXPECT_FALSE(fs::exists(dir / "clip_001.gif"));
  EXPECT_TRUE(fs::exists(dir / "clip_002.gif"));
}

TEST_F(GenerateCli, PngSequenceAndSafetensorsOutputs) {
  const osp::test::ScratchDir dir;
  fs::create_directories(dir / "frames");
  auto r = run_osp("generate -p \"a circle\" " + model_args() + " -o " + (dir / "frames/%03d.png"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir / "frames/000.png"));
  EXPECT_TRUE(fs::exists(dir / "frames/004.png"));
  EXPECT_FALSE(fs::exists(dir / "frames/005.png"));
  r = run_osp("generate -p \"a circle\" " + model_args() + " --cfg 1 -o " + (dir / "raw.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir / "raw.safetensors"));
}

// HiF8 (docs/quantization.md) in generation: fake quantization with --quant hif8, and 8-bit weights from
// `osp quantize`, each close to the bf16 run and not equal to it.
TEST_F(GenerateCli, HiF8FakeQuantizationAndEightBitWeights) {
  const osp::test::ScratchDir dir;
  const std::string base = "generate -p \"a red circle\" " + model_args() + " --seed 3 ";
  const auto latents = [&](const std::string& name) {
    return osp::io::open_tensor_source(dir / name)->load("latents");
  };
  ASSERT_EQ(run_osp(base + "-o " + (dir / "bf16.safetensors")).exit_code, 0);
  auto r = run_osp(base + "--quant hif8 -o " + (dir / "fq.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_osp("quantize " + *bundle_ + "/dit " + (dir / "dit8.safetensors") + " --format hif8");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_osp(base + "--dit " + (dir / "dit8.safetensors") + " --dit-config " + *bundle_ + "/dit/config.json -o " +
              (dir / "w8.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const at::Tensor reference = latents("bf16.safetensors");
  for (const char* name : {"fq.safetensors", "w8.safetensors"}) {
    const double relative = ((latents(name) - reference).norm() / reference.norm()).item<double>();
    EXPECT_GT(relative, 1e-4) << name << ": quantization changed nothing";
    EXPECT_LT(relative, 0.15) << name;
  }
}

// --step-cache with a threshold no change reaches: each of the two guidance branches computes its
// first step and skips blocks 1 … L−1 in the other three.
TEST_F(GenerateCli, StepCacheSkipsBlocksAndReportsIt) {
  const osp::test::ScratchDir dir;
  const std::string out = dir / "cached.mp4";
  const std::string four_steps = "--model " + *bundle_ + " -W 32 -H 32 --frames 5 --steps 4";
  const auto r = run_osp("generate -p \"a red circle\" " + four_steps + " --step-cache 1000 -o " + out, "info");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("step cache: 6 of 8 forwards skipped"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(out));
  expect_cli_error("generate -p x " + model_args() + " --step-cache -0.5 -o " + (dir / "a.mp4"), "--step-cache");
  expect_cli_error("generate -p x " + model_args() + " --step-cache 0.1 --offload blocks -o " + (dir / "b.mp4"),
                   "--step-cache");
}

TEST_F(GenerateCli, BadFlagsFailAtOnceNamingTheFlag) {
  const osp::test::ScratchDir dir;
  const std::string base = "generate -p cat --model " + *bundle_ + " ";
  const std::string out = " -o " + (dir / "o.mp4");
  expect_cli_error(base + "-W 100" + out, "96 or 112");
  expect_cli_error(base + "--frames 16" + out, "--frames");
  expect_cli_error(base + "--frames 16" + out, "17");
  expect_cli_error(base + "--steps 0" + out, "--steps");
  expect_cli_error(base + "--sampler heun" + out, "unipc");
  expect_cli_error(base + "--cfg-parallel --cfg 1" + out, "--cfg-parallel");
  expect_cli_error(base + "-o " + (dir / "no_such_dir/o.mp4"), "does not exist");
  expect_cli_error(base + "-o " + (dir / "o.avi"), "cannot tell the format");
  expect_cli_error(base + "--dit " + (dir / "missing.safetensors") + out, "missing.safetensors");
  expect_cli_error("generate -p cat --dit " + (dir / "missing.safetensors") + out, "--text-encoder");
  expect_cli_error("generate -p cat --model " + (dir / "nowhere") + out, "nowhere");
  expect_cli_error("generate -p cat --model " + *bundle_ + " --precision fp16" + out, "--precision");
  // Values the library checks come back naming the flag, not the library's field.
  expect_cli_error(base + "--offload disk" + out, "--offload");
  expect_cli_error(base + "--cfg-batch sometimes" + out, "--cfg-batch");
  // Rejected before the text encoder or the DiT is loaded.
  const auto r = run_osp(base + "-o " + (dir / "no_such_dir/o.mp4"), "info");
  EXPECT_EQ(r.output.find("load DiT"), std::string::npos) << r.output;
}

}  // namespace
