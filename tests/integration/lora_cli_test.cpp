// LoRA through the binary (docs/lora.md): `osp generate --lora` merged and runtime give the same
// latents within bf16 rounding and differ from the base; two stacked LoRAs; the metadata names
// them; LoRAs on 8-bit weights; `osp merge-lora` gives the checkpoint that generates what the
// runtime LoRA does; `osp lora extract` recovers a merged LoRA; bad adapters and flags end with
// exit code 1, `error: …` and nothing written.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../scratch_dir.h"
#include "lora_fixture.h"
#include "osp/io/safetensors_file.h"
#include "run_osp.h"
#include "tiny_bundle_suite.h"

namespace {

namespace fs = std::filesystem;
using osp::test::expect_cli_error;
using osp::test::run_osp;

class LoraCli : public osp::test::TinyBundleSuite<LoraCli> {
 public:
  static constexpr const char* kBundlePrefix = "osp_lora_cli";

 protected:
  static std::string generate(const std::string& extra, const std::string& out) {
    return "generate -p \"a red circle moving left\" --model " + *bundle_ +
           " -W 32 -H 32 --frames 5 --steps 3 --seed 7 " + extra + " -o " + out;
  }
  static at::Tensor latents(const std::string& path) { return osp::io::open_tensor_source(path)->load("latents"); }
  static std::string dit() { return *bundle_ + "/dit"; }
  static std::string write_lora(const osp::test::ScratchDir& dir, const std::string& name, uint64_t seed) {
    const std::string path = dir / name;
    osp::io::write_lora_file(path, osp::test::random_bundle_lora(dit(), 4, seed));
    return path;
  }
};

double relative(const at::Tensor& a, const at::Tensor& b) { return ((a - b).norm() / b.norm()).item<double>(); }

TEST_F(LoraCli, MergedAndRuntimeAgreeAndTheMetadataNamesTheLoras) {
  const osp::test::ScratchDir dir;
  const std::string lora = write_lora(dir, "style.safetensors", 1), second = write_lora(dir, "other.safetensors", 2);
  ASSERT_EQ(run_osp(generate("", dir / "base.safetensors")).exit_code, 0);
  auto r = run_osp(generate("--lora " + lora + ":0.8", dir / "merged.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_osp(generate("--lora " + lora + ":0.8 --lora-mode runtime", dir / "runtime.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const at::Tensor base = latents(dir / "base.safetensors"), merged = latents(dir / "merged.safetensors");
  const double agreement = relative(latents(dir / "runtime.safetensors"), merged);
  const double effect = relative(merged, base);
  std::printf("[ lora cli ] merged vs runtime latents %.3g; LoRA vs base %.3g\n", agreement, effect);
  EXPECT_LT(agreement, 0.02);
  EXPECT_GT(effect, 5 * agreement);
  const osp::io::SafetensorsFile file(dir / "merged.safetensors");
  const auto& metadata = file.metadata();
  ASSERT_TRUE(metadata.count("loras"));
  EXPECT_NE(metadata.at("loras").find("style.safetensors (sha256 "), std::string::npos) << metadata.at("loras");
  EXPECT_NE(metadata.at("loras").find("scale 0.8"), std::string::npos) << metadata.at("loras");
  // Two stacked LoRAs: merged and runtime agree too.
  const std::string both = "--lora " + lora + " --lora " + second + ":-0.5";
  ASSERT_EQ(run_osp(generate(both, dir / "two_merged.safetensors")).exit_code, 0);
  ASSERT_EQ(run_osp(generate(both + " --lora-mode runtime", dir / "two_runtime.safetensors")).exit_code, 0);
  EXPECT_LT(relative(latents(dir / "two_runtime.safetensors"), latents(dir / "two_merged.safetensors")), 0.02);
}

TEST_F(LoraCli, RunsBesideEightBitWeights) {
  const osp::test::ScratchDir dir;
  const std::string lora = write_lora(dir, "style.safetensors", 3);
  ASSERT_EQ(run_osp("quantize " + dit() + " " + (dir / "dit8.safetensors") + " --format hif8").exit_code, 0);
  const std::string w8 = "--dit " + (dir / "dit8.safetensors") + " --dit-config " + dit() + "/config.json ";
  ASSERT_EQ(run_osp(generate(w8, dir / "w8.safetensors")).exit_code, 0);
  const auto r = run_osp(generate(w8 + "--lora " + lora, dir / "w8_lora.safetensors"), "info");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("runtime mode"), std::string::npos) << r.output;
  ASSERT_EQ(run_osp(generate("--lora " + lora, dir / "lora.safetensors")).exit_code, 0);
  const double to_dense = relative(latents(dir / "w8_lora.safetensors"), latents(dir / "lora.safetensors"));
  const double to_w8 = relative(latents(dir / "w8_lora.safetensors"), latents(dir / "w8.safetensors"));
  EXPECT_LT(to_dense, to_w8) << "the LoRA on 8-bit weights should land near the dense LoRA run";
  // HiF8 fake quantization (--quant hif8) with a runtime LoRA beside it.
  ASSERT_EQ(run_osp(generate("--quant hif8", dir / "fq.safetensors")).exit_code, 0);
  ASSERT_EQ(run_osp(generate("--quant hif8 --lora " + lora, dir / "fq_lora.safetensors")).exit_code, 0);
  EXPECT_LT(relative(latents(dir / "fq_lora.safetensors"), latents(dir / "lora.safetensors")),
            relative(latents(dir / "fq.safetensors"), latents(dir / "lora.safetensors")));
}

TEST_F(LoraCli, MergeLoraThenExtractRoundTrips) {
  const osp::test::ScratchDir dir;
  const std::string lora = write_lora(dir, "style.safetensors", 4);
  fs::create_directories(dir.path() / "merged");
  auto r = run_osp("merge-lora --base " + dit() + " --lora " + lora + ":0.5 --out " + (dir / "merged/dit.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir.path() / "merged" / "config.json"));
  ASSERT_EQ(run_osp(generate("--dit " + (dir / "merged/dit.safetensors"), dir / "from_merged.safetensors")).exit_code, 0);
  ASSERT_EQ(run_osp(generate("--lora " + lora + ":0.5", dir / "from_lora.safetensors")).exit_code, 0);
  EXPECT_LT(relative(latents(dir / "from_merged.safetensors"), latents(dir / "from_lora.safetensors")), 0.02);
  // extract at the LoRA's rank recovers the merged difference (bf16 storage limits the precision).
  r = run_osp("lora extract --base " + dit() + " --tuned " + (dir / "merged/dit.safetensors") +
              " --rank 4 --out " + (dir / "extracted.safetensors"), "info");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("relative reconstruction error"), std::string::npos) << r.output;
  ASSERT_EQ(run_osp(generate("--lora " + (dir / "extracted.safetensors"), dir / "from_extracted.safetensors")).exit_code,
            0);
  EXPECT_LT(relative(latents(dir / "from_extracted.safetensors"), latents(dir / "from_merged.safetensors")), 0.05);
}

TEST_F(LoraCli, BadAdaptersAndFlagsFailWithExitOneAndWriteNothing) {
  const osp::test::ScratchDir dir;
  const std::string lora = write_lora(dir, "style.safetensors", 5);
  const std::string out = dir / "out.safetensors";
  expect_cli_error(generate("--lora " + (dir / "missing.safetensors"), out), "missing.safetensors");
  expect_cli_error(generate("--lora " + lora + ":abc", out), "finite number");
  expect_cli_error(generate("--lora " + lora + ":nan", out), "finite number");
  expect_cli_error(generate("--lora " + lora + " --lora-mode fused", out), "--lora-mode");
  // Wrong shapes: a LoRA made for a wider model.
  osp::io::LoraFile wide = osp::test::random_bundle_lora(dit(), 4, 6);
  wide.modules[2].down = at::zeros({4, 7});
  osp::io::write_lora_file(dir / "wide.safetensors", wide);
  expect_cli_error(generate("--lora " + (dir / "wide.safetensors"), out), "[4, 7]");
  // A truncated file.
  {
    std::ifstream in(lora, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(dir / "cut.safetensors", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  expect_cli_error(generate("--lora " + (dir / "cut.safetensors"), out), "cut.safetensors");
  EXPECT_FALSE(fs::exists(out));
  const std::string merged = dir / "merged.safetensors";
  expect_cli_error("merge-lora --base " + dit() + " --lora " + (dir / "wide.safetensors") + " --out " + merged, "[4, 7]");
  expect_cli_error("merge-lora --base " + dit() + " --lora " + lora + ":x --out " + merged, "finite number");
  expect_cli_error("merge-lora --base " + dit() + " --lora " + lora + " --ema --out " + merged, "--ema");
  EXPECT_FALSE(fs::exists(merged));
  expect_cli_error("lora extract --base " + dit() + " --tuned " + dit() + " --rank 0 --out " + merged, "--rank");
  expect_cli_error("lora extract --base " + dit() + " --tuned " + dit() + " --rank 2 --out " + merged, "does not differ");
  EXPECT_FALSE(fs::exists(merged));
}

}  // namespace
