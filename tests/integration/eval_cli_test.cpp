// `osp eval shapes` / `osp eval vae` / `osp eval prompts` end to end on a tiny random bundle from
// `osp init-bundle`: two prompts give the accuracy table, results.jsonl, summary.json and
// contact_sheet.png; a prompt file line that is no Shapes caption fails at once naming FILE:LINE;
// the --min-* gates exit 1; the bundle's VAE round-trips `osp data shapes` clips into the accuracy
// table and PSNR; bad `eval vae` input ends in "error:" and exit 1.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "../file_bytes.h"
#include "../scratch_dir.h"
#include "osp/io/video_reader.h"
#include "osp/shapes/prompts.h"
#include "run_osp.h"
#include "tiny_bundle_suite.h"

namespace {

namespace fs = std::filesystem;
using osp::test::expect_cli_error;
using osp::test::run_osp;

class EvalCli : public osp::test::TinyBundleSuite<EvalCli> {
 public:
  static constexpr const char* kBundlePrefix = "osp_eval_cli";

 protected:
  // The tiny bundle at 32 × 32, 5 frames, 2 steps: seconds per prompt.
  static std::string eval_args(const std::string& prompts, const std::string& out) {
    return "eval shapes --model " + *bundle_ + " --prompts " + prompts + " --out " + out +
           " -W 32 -H 32 --frames 5 --steps 2";
  }
  static void write_two_prompts(const std::string& path) {
    std::ofstream(path) << "# two held-out captions\n"
                           "a red circle moving left on a green background\n"
                           "\n"
                           "a black diamond growing on a yellow background\n";
  }
};

TEST_F(EvalCli, TwoPromptsGiveTableResultsSummaryAndContactSheet) {
  const osp::test::ScratchDir dir;
  const std::string prompts = dir / "p.txt", out = dir / "eval";
  write_two_prompts(prompts);
  const auto r = run_osp(eval_args(prompts, out) + " --seed 7", "debug");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* part : {"object colour", "shape", "background colour", "motion", "all four", "measure:", "line 4: 'a black"}) {
    EXPECT_NE(r.output.find(part), std::string::npos) << part << " in:\n" << r.output;
  }

  std::istringstream lines(osp::test::read_bytes(out + "/results.jsonl"));
  std::vector<nlohmann::json> results;
  for (std::string line; std::getline(lines, line);) results.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0]["caption"], "a red circle moving left on a green background");
  EXPECT_EQ(results[0]["line"], 2);
  EXPECT_EQ(results[0]["seed"], 7);
  EXPECT_EQ(results[1]["seed"], 8);  // prompt i: seed + i
  EXPECT_EQ(results[1]["expected"]["motion"], "growing");
  for (const auto& result : results) {
    for (const char* key : {"color", "shape", "background", "motion"}) {
      ASSERT_TRUE(result["correct"][key].is_boolean());
      EXPECT_EQ(result["correct"][key].get<bool>(), result["measured"][key] == result["expected"][key]) << result;
    }
    // The sample is kept as a video; the lossless frames it was measured from are not.
    const osp::io::Video video = osp::io::read_video(out + "/" + result["video"].get<std::string>());
    EXPECT_EQ(video.frames.sizes(), (std::vector<int64_t>{3, 5, 32, 32}));
  }
  EXPECT_FALSE(fs::exists(out + "/samples/000.safetensors"));

  const auto summary = nlohmann::json::parse(osp::test::read_bytes(out + "/summary.json"));
  EXPECT_EQ(summary["prompts"], 2);
  EXPECT_EQ(summary["object_color"]["total"], 2);
  EXPECT_EQ(summary["shape"]["total"], 2);
  EXPECT_EQ(summary["all_four"]["total"], 2);
  EXPECT_FALSE(summary.contains("all_three"));
  EXPECT_EQ(summary["generation"]["steps"], 2);
  int64_t motion_right = 0;
  for (const auto& result : results) motion_right += result["correct"]["motion"].get<bool>() ? 1 : 0;
  EXPECT_EQ(summary["motion"]["correct"], motion_right);

  // Two cells of first / middle / last frame: 2 × (3 × 32 + 2 + 4) + 3 × 4 wide, 32 + 4 + 8 high.
  const osp::io::Video sheet = osp::io::read_video(out + "/contact_sheet.png");
  EXPECT_EQ(sheet.frames.sizes(), (std::vector<int64_t>{3, 1, 44, 216}));
}

TEST_F(EvalCli, ALineThatIsNoCaptionFailsNamingFileAndLine) {
  const osp::test::ScratchDir dir;
  const std::string prompts = dir / "bad.txt";
  std::ofstream(prompts) << "a red circle moving left on a green background\n"
                            "a red circle moving sideways on a green background\n";
  expect_cli_error(eval_args(prompts, dir / "eval"), prompts + ":2: not a Shapes caption");
  EXPECT_FALSE(fs::exists(dir / "eval/summary.json"));
  expect_cli_error(eval_args(dir / "missing.txt", dir / "eval"), "missing.txt");
  expect_cli_error(eval_args(prompts, dir / "eval") + " --min-motion 120", "--min-motion");
}

TEST_F(EvalCli, GatesBelowTheAccuracyExitOneAfterWritingTheResults) {
  const osp::test::ScratchDir dir;
  const std::string prompts = dir / "p.txt", out = dir / "eval";
  write_two_prompts(prompts);
  // A random-weights model does not get every attribute of its first prompt right.
  const auto r =
      run_osp(eval_args(prompts, out) + " --limit 1 --min-color 100 --min-shape 100 --min-background 100 --min-motion 100");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("quality gate failed"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(out + "/summary.json"));
  EXPECT_EQ(nlohmann::json::parse(osp::test::read_bytes(out + "/summary.json"))["prompts"], 1);
}

TEST_F(EvalCli, VaeRoundTripReportsEveryAttributeAndPsnr) {
  const osp::test::ScratchDir dir;
  const auto data = run_osp("data shapes --out " + (dir / "data") + " --count 3 --seed 5 --size 64 --frames 5 --split all");
  ASSERT_EQ(data.exit_code, 0) << data.output;
  const std::string out = dir / "eval";
  const auto r = run_osp("eval vae --vae " + *bundle_ + "/vae --manifest " + (dir / "data/manifest.jsonl") +
                         " --count 2 --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* part : {"object colour", "shape", "background colour", "motion", "all four", "PSNR (dB)",
                           "input clips", "VAE round trip", "2/2 (100.0%)"}) {
    EXPECT_NE(r.output.find(part), std::string::npos) << part << " in:\n" << r.output;
  }
  const auto summary = nlohmann::json::parse(osp::test::read_bytes(out + "/summary.json"));
  EXPECT_EQ(summary["clips"], 2);
  for (const char* key : {"object_color", "shape", "background_color", "motion", "all_four"}) {
    EXPECT_EQ(summary["decoded"][key]["total"], 2) << key;
    EXPECT_EQ(summary["input"][key]["correct"], 2) << key;  // the ground truth measures right
  }
  ASSERT_TRUE(summary["psnr_db"].is_number()) << summary;
  EXPECT_GT(summary["psnr_db"].get<double>(), 0.0);
  std::istringstream lines(osp::test::read_bytes(out + "/results.jsonl"));
  int64_t count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_TRUE(j["decoded"]["measured"].contains("shape")) << j;
    EXPECT_TRUE(j["psnr_db"].is_number()) << j;
  }
  EXPECT_EQ(count, 2);

  // Without --count every clip; a gate the random VAE misses exits 1 after the table.
  const auto gated = run_osp("eval vae --vae " + *bundle_ + "/vae --manifest " + (dir / "data/manifest.jsonl") +
                             " --min-shape 100 --min-color 100 --min-motion 100");
  EXPECT_EQ(gated.exit_code, 1) << gated.output;
  EXPECT_NE(gated.output.find("3/3"), std::string::npos) << gated.output;
  EXPECT_NE(gated.output.find("quality gate failed"), std::string::npos) << gated.output;
}

TEST_F(EvalCli, VaeBadInputEndsInAnError) {
  const osp::test::ScratchDir dir;
  const auto data = run_osp("data shapes --out " + (dir / "data") + " --count 1 --seed 5 --size 64 --frames 5");
  ASSERT_EQ(data.exit_code, 0) << data.output;
  const std::string vae = " --vae " + *bundle_ + "/vae", manifest = " --manifest " + (dir / "data/manifest.jsonl");
  expect_cli_error("eval vae" + vae + " --manifest " + (dir / "missing.jsonl"), "missing.jsonl");
  expect_cli_error("eval vae" + vae + manifest + " --count 0", "--count");
  expect_cli_error("eval vae" + vae + manifest + " --count -3", "--count");
  expect_cli_error("eval vae --vae " + (dir / "no-vae") + manifest, "no-vae");
  expect_cli_error("eval vae" + vae + manifest + " --min-shape 101", "--min-shape");
  std::ofstream(dir / "other.jsonl") << "{\"video\": \"data/videos/000000.mp4\", \"caption\": \"a cat\"}\n";
  expect_cli_error("eval vae" + vae + " --manifest " + (dir / "other.jsonl"), "other.jsonl:1: not a Shapes caption");
  expect_cli_error("eval vae" + manifest, "--vae");
}

TEST(EvalPromptsCli, WritesTheHeldoutPromptFile) {
  const osp::test::ScratchDir dir;
  const auto r = run_osp("eval prompts --split heldout --out " + (dir / "h.txt"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(osp::test::read_bytes(dir / "h.txt"), osp::shapes::shapes_prompt_text(osp::shapes::Split::kHeldout));
  expect_cli_error("eval prompts --split test --out " + (dir / "x.txt"), "--split");
}

}  // namespace
