// `osp vae-encode` / `osp vae-decode` end to end on the tiny VAE fixtures (tests/fixtures/
// vae_fixtures.py): the .pth and diffusers layouts give identical outputs, video files go in and
// out, the preview map is fitted, and bad input ends in "error:" and exit 1.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "../fixtures.h"
#include "../video_fixtures.h"
#include "osp/io/safetensors_writer.h"
#include "osp/io/tensor_source.h"
#include "osp/io/video_reader.h"
#include "osp/io/video_writer.h"
#include "osp/models/vae/latent_preview.h"
#include "run_osp.h"

namespace {

namespace fs = std::filesystem;
using osp::test::fixture;
using osp::test::run_osp;

constexpr int64_t kZ = 4;  // tiny fixture z_dim

class VaeCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    osp::test::fixture_dir();
    dir_ = fs::temp_directory_path() / ("osp_vae_cli_" + std::to_string(getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  static std::string pth() {
    return "--vae " + fixture("vae/wan/Wan2.1_VAE.pth") + " --config " + fixture("vae/tiny_vae_config.json");
  }
  static std::string diffusers() { return "--vae " + fixture("vae/diffusers"); }

  std::string write_video_tensor(const std::string& name, std::vector<int64_t> shape) {
    at::manual_seed(5);
    const std::string file = path(name);
    osp::io::write_safetensors(file, {{"video", at::tanh(at::randn(shape))}});
    return file;
  }

  at::Tensor run_and_load(const std::string& args, const std::string& out, const std::string& tensor) {
    const auto r = run_osp(args + " --out " + out);
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.output;
    if (r.exit_code != 0) return {};
    return osp::io::open_tensor_source(out)->load(tensor);
  }

  void expect_error(const std::string& args, const std::string& needle) { osp::test::expect_cli_error(args, needle); }

  fs::path dir_;
};

TEST_F(VaeCliTest, PthAndDiffusersLayoutsGiveIdenticalOutputs) {
  const std::string in = write_video_tensor("video.safetensors", {2, 3, 9, 16, 24});
  const at::Tensor z_pth = run_and_load("vae-encode " + pth() + " --in " + in, path("z1.safetensors"), "latents");
  const at::Tensor z_diff = run_and_load("vae-encode " + diffusers() + " --in " + in, path("z2.safetensors"), "latents");
  ASSERT_TRUE(z_pth.defined() && z_diff.defined());
  EXPECT_EQ(z_pth.sizes(), (at::IntArrayRef{2, kZ, 3, 2, 3}));
  EXPECT_GT(z_pth.abs().max().item<float>(), 0.0f);
  EXPECT_TRUE(at::equal(z_pth, z_diff));

  const at::Tensor v_pth = run_and_load("vae-decode " + pth() + " --in " + path("z1.safetensors"),
                                        path("v1.safetensors"), "video");
  const at::Tensor v_diff = run_and_load("vae-decode " + diffusers() + " --in " + path("z1.safetensors"),
                                         path("v2.safetensors"), "video");
  ASSERT_TRUE(v_pth.defined() && v_diff.defined());
  EXPECT_EQ(v_pth.sizes(), (at::IntArrayRef{2, 3, 9, 16, 24}));
  EXPECT_TRUE(at::equal(v_pth, v_diff));
  EXPECT_LE(v_pth.abs().max().item<float>(), 1.0f);

  // Tiling flags run the tiled path (a 16-pixel tile with 8 overlap on a 24-pixel-wide frame).
  const at::Tensor v_tiled = run_and_load("vae-decode " + pth() + " --tile-size 16 --tile-overlap 8 --in " +
                                              path("z1.safetensors"),
                                          path("v3.safetensors"), "video");
  ASSERT_TRUE(v_tiled.defined());
  EXPECT_EQ(v_tiled.sizes(), v_pth.sizes());
}

TEST_F(VaeCliTest, VideoFilesInAndOut) {
  // 9 frames of a smooth pattern as mp4 → latents → videos at 10 fps (gif stores centiseconds).
  const at::Tensor frames = 0.8 * at::sin(at::arange(9 * 16 * 32, at::kFloat).view({1, 9, 16, 32}) / 40.0)
                                      .expand({3, 9, 16, 32}).contiguous();
  osp::io::write_video(path("in.mp4"), frames, {});
  const at::Tensor z = run_and_load("vae-encode " + diffusers() + " --in " + path("in.mp4"), path("z.safetensors"),
                                    "latents");
  ASSERT_TRUE(z.defined());
  EXPECT_EQ(z.sizes(), (at::IntArrayRef{1, kZ, 3, 2, 4}));
  // Resize/crop and frame selection on the way in.
  const at::Tensor z2 = run_and_load("vae-encode " + diffusers() + " --in " + path("in.mp4") +
                                         " --frames 5 --width 16 --height 16",
                                     path("z2.safetensors"), "latents");
  ASSERT_TRUE(z2.defined());
  EXPECT_EQ(z2.sizes(), (at::IntArrayRef{1, kZ, 2, 2, 2}));

  for (const std::string out : {"out.mp4", "out.webm", "out.gif", "frames_%02d.png"}) {
    const auto r = run_osp("vae-decode " + diffusers() + " --in " + path("z.safetensors") + " --out " + path(out) +
                           " --fps 10");
    ASSERT_EQ(r.exit_code, 0) << out << "\n" << r.output;
    const osp::io::Video v = osp::io::read_video(path(out));
    EXPECT_EQ(v.frames.sizes(), (at::IntArrayRef{3, 9, 16, 32})) << out;
    if (out != "frames_%02d.png") {
      EXPECT_NEAR(v.fps, 10.0, 0.05) << out;
    }
  }
}

TEST_F(VaeCliTest, BadInputIsReported) {
  const std::string enc = "vae-encode " + pth() + " --out " + path("z.safetensors") + " --in ";
  expect_error(enc + write_video_tensor("t6.safetensors", {1, 3, 6, 16, 16}), "nearest valid counts: 5 or 9");
  expect_error(enc + write_video_tensor("h20.safetensors", {1, 3, 5, 20, 16}), "multiples of 8");
  expect_error(enc + write_video_tensor("c4.safetensors", {1, 4, 5, 16, 16}), "3 channels");
  std::ofstream(path("junk.mp4")) << "not a video at all";
  expect_error(enc + path("junk.mp4"), "junk.mp4");
  osp::test::write_frameless_gif(path("zero.gif"));
  expect_error(enc + path("zero.gif"), "zero.gif");
  expect_error(enc + path("missing.mp4"), "missing.mp4");
  // A 6-frame video file: the message says which --frames to pass.
  osp::io::write_video(path("six.mp4"), at::zeros({3, 6, 16, 16}), {});
  expect_error(enc + path("six.mp4"), "--frames 5");

  osp::io::write_safetensors(path("z8.safetensors"), {{"latents", at::randn({1, 8, 2, 2, 2})}});
  expect_error("vae-decode " + pth() + " --in " + path("z8.safetensors") + " --out " + path("v.safetensors"),
               "4 latent channels");
  osp::io::write_safetensors(path("z.safetensors"), {{"latents", at::randn({1, kZ, 2, 2, 2})}});
  expect_error("vae-decode " + pth() + " --in " + path("z.safetensors") + " --out " + path("v.avi2"),
               "unknown video output type");
  expect_error("vae-decode " + pth() + " --in " + path("z.safetensors") + " --out " + path("v.safetensors") +
                   " --tile-size 12",
               "--tile-size");
  // The tiny .pth without --config is checked against the Wan 2.1 shapes.
  expect_error("vae-decode --vae " + fixture("vae/wan/Wan2.1_VAE.pth") + " --in " + path("z.safetensors") +
                   " --out " + path("v.safetensors"),
               "--config");
  EXPECT_FALSE(fs::exists(path("v.safetensors")));
}

TEST_F(VaeCliTest, PreviewFitWritesTheMapAndRejectsBadInput) {
  for (const char* name : {"a.mp4", "b.mp4"}) {
    osp::io::write_video(path(name), at::tanh(at::randn({3, 5, 16, 16})), {});
  }
  std::ofstream(path("m.jsonl")) << "{\"video\": \"a.mp4\", \"caption\": \"a\"}\n"
                                 << "{\"video\": \"b.mp4\", \"caption\": \"b\"}\n";
  const auto r = run_osp("vae-preview-fit " + diffusers() + " --manifest " + path("m.jsonl") + " --out " + path("p.json"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream written(path("p.json"));
  const std::string text{std::istreambuf_iterator<char>(written), std::istreambuf_iterator<char>()};
  EXPECT_NE(text.find("\"r_squared\""), std::string::npos) << text;
  const osp::vae::LatentPreview map = osp::vae::read_latent_preview(path("p.json"), kZ);
  EXPECT_EQ(map.weight.sizes(), (std::vector<int64_t>{3, kZ}));

  const std::string fit = "vae-preview-fit " + diffusers() + " --out " + path("q.json") + " --manifest ";
  expect_error(fit + path("m.jsonl") + " --count 0", "--count");
  expect_error(fit + path("missing.jsonl"), "missing.jsonl");
  std::ofstream(path("six.jsonl")) << "{\"video\": \"six.mp4\", \"caption\": \"s\"}\n";
  osp::io::write_video(path("six.mp4"), at::zeros({3, 6, 16, 16}), {});
  expect_error(fit + path("six.jsonl"), "six.mp4");
  EXPECT_FALSE(fs::exists(path("q.json")));
}

}  // namespace
