// `osp data shapes` and `osp data cache` end to end: the same seed writes the same manifest and
// clips, the cache skips a missing video within --max-bad-fraction and fails beyond it, and bad
// flags end in "error:" and exit 1.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../file_bytes.h"
#include "../fixtures.h"
#include "../scratch_dir.h"
#include "osp/shapes/tokenizer.h"
#include "osp/train/manifest.h"
#include "osp/shapes/dataset.h"
#include "run_osp.h"

namespace {

namespace fs = std::filesystem;
using osp::test::expect_cli_error;
using osp::test::run_osp;
using osp::test::ScratchDir;

using osp::test::read_bytes;

std::string shapes_args(const ScratchDir& dir, const std::string& name, int seed) {
  return "data shapes --out " + (dir / name) + " --count 4 --seed " + std::to_string(seed) +
         " --size 32 --frames 5 --fps 8";
}

TEST(DataCli, ShapesIsDeterministicAndValidatesFlags) {
  ScratchDir dir;
  for (const char* name : {"a", "b"}) {
    const auto r = run_osp(shapes_args(dir, name, 3));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  const std::string manifest = read_bytes(dir / "a/manifest.jsonl");
  EXPECT_EQ(manifest, read_bytes(dir / "b/manifest.jsonl"));
  for (int i = 0; i < 4; ++i) {
    const std::string name = osp::shapes::shapes_video_name(i);
    EXPECT_EQ(read_bytes(dir / ("a/" + name)), read_bytes(dir / ("b/" + name)));
  }
  const auto m = osp::train::read_manifest(dir / "a/manifest.jsonl");
  ASSERT_EQ(m.entries.size(), 4u);
  EXPECT_EQ(m.entries[0].fields.begin().key(), "video");  // documented key order

  // The held-out split only holds held-out combinations.
  ASSERT_EQ(run_osp(shapes_args(dir, "h", 3) + " --split heldout").exit_code, 0);
  for (const auto& e : osp::train::read_manifest(dir / "h/manifest.jsonl").entries) {
    const auto a = osp::shapes::parse_caption(e.caption);
    ASSERT_TRUE(a.has_value()) << e.caption;
    EXPECT_TRUE(osp::shapes::is_heldout(*a)) << e.caption;
  }

  expect_cli_error(shapes_args(dir, "x", 1) + " --split test", "--split");
  expect_cli_error("data shapes --out " + (dir / "x") + " --count 2 --seed 1 --frames 6", "--frames");
  expect_cli_error("data shapes --out " + (dir / "x") + " --count 2 --seed 1 --size 20", "--size");
  expect_cli_error("data shapes --out " + (dir / "x") + " --count 0 --seed 1", "--count");
  EXPECT_FALSE(fs::exists(dir / "x/manifest.jsonl"));
}

TEST(DataCli, CacheSkipsABadSampleAndFailsBeyondTheFraction) {
  ScratchDir dir;
  ASSERT_EQ(run_osp(shapes_args(dir, "ds", 5)).exit_code, 0);
  {
    std::ofstream(dir / "ds/manifest.jsonl", std::ios::app)
        << "{\"video\": \"videos/missing.mp4\", \"caption\": \"a red square shrinking on a white background\"}\n";
  }
  osp::shapes::train_caption_tokenizer(dir / "tokenizer");
  const std::string common = "data cache --manifest " + (dir / "ds/manifest.jsonl") + " --vae " +
                             osp::test::fixture("vae/diffusers/vae") + " --text-encoder " +
                             osp::test::fixture("t5/hf") + " --tokenizer " + (dir / "tokenizer") +
                             " --size 32 --frames 5 --fps 8 --text-precision fp32";
  const auto ok = run_osp(common + " --out " + (dir / "cache") + " --max-bad-fraction 0.2", "info");
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("cached 4 of 5 samples"), std::string::npos) << ok.output;
  EXPECT_NE(ok.output.find("missing.mp4"), std::string::npos) << ok.output;  // the skip is reported
  const auto cached = osp::train::read_manifest(dir / "cache/manifest.jsonl");
  EXPECT_EQ(cached.entries.size(), 4u);
  EXPECT_TRUE(cached.all_cached());

  // Default --max-bad-fraction 0.01: one bad sample in five fails the run.
  const auto r = expect_cli_error(common + " --out " + (dir / "cache2"), "--max-bad-fraction");
  EXPECT_NE(r.output.find("missing.mp4"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "cache2/manifest.jsonl"));
  expect_cli_error(common + " --out " + (dir / "cache3") + " --frames 4", "--frames");
  expect_cli_error(common + " --out " + (dir / "cache3") + " --buckets 4x3", "--buckets");
}

}  // namespace
