// Video files through ffmpeg (io/video_reader, io/video_writer): round trips per format on smooth
// synthetic frames, resampling / resize / crop on read, atomic writes, and bad input.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "expect_error.h"
#include "osp/core/error.h"
#include "osp/io/video_reader.h"
#include "osp/io/video_writer.h"
#include "video_fixtures.h"

namespace {

namespace fs = std::filesystem;
using namespace osp::io;

// Smooth moving colour gradients, [3, T, H, W] in [−0.9, 0.9] (not constant in space or time).
at::Tensor smooth_frames(int64_t t, int64_t h, int64_t w) {
  const at::Tensor tt = at::arange(t, at::kFloat).view({1, t, 1, 1});
  const at::Tensor yy = at::arange(h, at::kFloat).view({1, 1, h, 1}) / static_cast<double>(h);
  const at::Tensor xx = at::arange(w, at::kFloat).view({1, 1, 1, w}) / static_cast<double>(w);
  const at::Tensor phase = at::tensor({0.0f, 2.0f, 4.0f}).view({3, 1, 1, 1});
  return 0.9 * at::sin(6.0 * xx + 4.0 * yy + 0.3 * tt + phase) * at::cos(3.0 * yy - 0.2 * tt + phase / 2);
}

// Write options with the given frame rate and rate factor (−1: the format's default).
VideoWriteOptions at_fps(double fps, int crf = -1) {
  VideoWriteOptions options;
  options.fps = fps;
  options.crf = crf;
  return options;
}

// PSNR in dB for signals in [−1, 1] (peak-to-peak 2).
double psnr(const at::Tensor& a, const at::Tensor& b) {
  const double mse = (a.to(at::kDouble) - b.to(at::kDouble)).pow(2).mean().item<double>();
  return 10.0 * std::log10(4.0 / mse);
}

class VideoIo : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("osp_video_test_" + std::to_string(getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  // No temporary files left behind.
  void expect_no_temp_files() const {
    for (const auto& e : fs::directory_iterator(dir_)) {
      EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << e.path();
    }
  }
  fs::path dir_;
};

TEST_F(VideoIo, Mp4RoundTripKeepsCountSizeFpsAndQuality) {
  const at::Tensor frames = smooth_frames(17, 64, 96);
  write_video(path("a.mp4"), frames, at_fps(16.0));
  const Video back = read_video(path("a.mp4"));
  ASSERT_EQ(back.frames.sizes(), frames.sizes());
  EXPECT_DOUBLE_EQ(back.fps, 16.0);
  EXPECT_GE(psnr(back.frames, frames), 35.0);
  EXPECT_LE(back.frames.abs().max().item<float>(), 1.0f);
  expect_no_temp_files();
}

TEST_F(VideoIo, WebmGifAndPngSequenceRoundTrip) {
  const at::Tensor frames = smooth_frames(5, 32, 48);
  write_video(path("a.webm"), frames, at_fps(24.0));
  Video webm = read_video(path("a.webm"));
  ASSERT_EQ(webm.frames.sizes(), frames.sizes());
  EXPECT_NEAR(webm.fps, 24.0, 0.05);
  EXPECT_GE(psnr(webm.frames, frames), 30.0);

  write_video(path("a.gif"), frames, at_fps(10.0));
  Video gif = read_video(path("a.gif"));
  ASSERT_EQ(gif.frames.sizes(), frames.sizes());
  EXPECT_NEAR(gif.fps, 10.0, 0.01);
  EXPECT_GE(psnr(gif.frames, frames), 20.0);  // 3-3-2 palette with dithering

  write_video(path("f_%03d.png"), frames);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(fs::exists(path(fmt::format("f_{:03d}.png", i)))) << i;
  // png is lossless: 8-bit quantization only (≥ 48 dB for a 2/255 step).
  Video png = read_video(path("f_%03d.png"));
  ASSERT_EQ(png.frames.sizes(), frames.sizes());
  EXPECT_GE(psnr(png.frames, frames), 48.0);
  expect_no_temp_files();
}

TEST_F(VideoIo, StreamedChunksEqualOneWrite) {
  const at::Tensor frames = smooth_frames(9, 32, 32);
  {
    VideoWriter writer(path("chunks.mp4"), 32, 32, at_fps(16.0, 10));
    writer.write(frames.narrow(1, 0, 1));
    writer.write(frames.narrow(1, 1, 4));
    writer.write(frames.narrow(1, 5, 4));
    EXPECT_FALSE(fs::exists(path("chunks.mp4")));  // not before finish(): atomic
    writer.finish();
    EXPECT_EQ(writer.frames_written(), 9);
  }
  write_video(path("once.mp4"), frames, at_fps(16.0, 10));
  const at::Tensor chunked = read_video(path("chunks.mp4")).frames;
  const at::Tensor once = read_video(path("once.mp4")).frames;
  ASSERT_EQ(chunked.sizes(), once.sizes());
  // x264's frame threads make two encodings of the same pictures differ by a few levels when the
  // machine is busy, so the files are compared as pictures: each chunked frame matches the one-write
  // frame at its index far better than that frame's neighbours (a dropped, repeated or reordered
  // chunk fails), and the whole clip agrees to within the encoder's own run-to-run noise.
  EXPECT_GE(psnr(chunked, once), 40.0);
  for (int64_t t = 0; t < once.size(1); ++t) {
    const double same = psnr(chunked.select(1, t), once.select(1, t));
    for (int64_t u : {t - 1, t + 1}) {
      if (u < 0 || u >= once.size(1)) continue;
      EXPECT_GT(same, psnr(chunked.select(1, t), once.select(1, u)) + 6.0) << "frame " << t << " vs " << u;
    }
  }
}

TEST_F(VideoIo, ReadResamplesResizesAndCrops) {
  // 16 fps, 1 s; each frame has its index encoded as brightness so resampling can be checked.
  const int64_t n = 16;
  at::Tensor frames = at::zeros({3, n, 32, 64});
  for (int64_t i = 0; i < n; ++i) frames.select(1, i).fill_(-0.9 + 1.8 * static_cast<double>(i) / (n - 1));
  write_video(path("ramp_%02d.png"), frames);
  write_video(path("ramp.mp4"), frames, at_fps(16.0, 0));
  const auto index_of = [&](const at::Tensor& frame) {
    return std::lround((frame.mean().item<double>() + 0.9) / 1.8 * (n - 1));
  };
  const Video half = read_video(path("ramp.mp4"), {8.0, 0, 0, 0});
  ASSERT_EQ(half.frames.size(1), 8);
  EXPECT_DOUBLE_EQ(half.fps, 8.0);
  for (int64_t k = 0; k < 8; ++k) EXPECT_EQ(index_of(half.frames.select(1, k)), 2 * k) << k;
  const Video doubled = read_video(path("ramp.mp4"), {32.0, 0, 0, 0});
  ASSERT_EQ(doubled.frames.size(1), 32);
  for (int64_t k = 0; k < 32; ++k) EXPECT_EQ(index_of(doubled.frames.select(1, k)), k / 2) << k;

  // Resize to cover 16 × 16 (64×32 → 32×16), then crop the centre 16 columns.
  at::Tensor halves = at::full({3, 1, 32, 64}, -0.8);
  halves.narrow(3, 24, 16).fill_(0.8);  // a bright band in the centre quarter of the width
  write_video(path("band_%d.png"), halves);
  const Video cropped = read_video(path("band_%d.png"), {0, 16, 16, 0});
  ASSERT_EQ(cropped.frames.sizes(), (at::IntArrayRef{3, 1, 16, 16}));
  // The band (scaled to columns 12..19 of 32, i.e. 4..11 of the crop) is in the middle.
  EXPECT_GT(cropped.frames.select(3, 8).mean().item<double>(), 0.5);
  EXPECT_LT(cropped.frames.select(3, 0).mean().item<double>(), -0.5);

  const Video limited = read_video(path("ramp.mp4"), {0, 0, 0, 5});
  EXPECT_EQ(limited.frames.size(1), 5);
}

using osp::test::error_of;

TEST_F(VideoIo, BadInputNamesTheFile) {
  std::ofstream(path("junk.mp4")) << "this is not a video";
  std::string m = error_of([&] { read_video(path("junk.mp4")); });
  EXPECT_NE(m.find("junk.mp4"), std::string::npos) << m;
  std::ofstream(path("empty.mp4")).close();
  m = error_of([&] { read_video(path("empty.mp4")); });
  EXPECT_NE(m.find("empty.mp4"), std::string::npos) << m;
  m = error_of([&] { read_video(path("missing.mp4")); });
  EXPECT_NE(m.find("missing.mp4"), std::string::npos) << m;
  m = error_of([&] { write_video(path("a.avi2"), smooth_frames(1, 8, 8)); });
  EXPECT_NE(m.find("unknown video output type"), std::string::npos) << m;
  m = error_of([&] { write_video(path("odd.mp4"), smooth_frames(1, 9, 8)); });
  EXPECT_NE(m.find("even"), std::string::npos) << m;
  m = error_of([&] { write_video(path("p_%d_%d.png"), smooth_frames(1, 8, 8)); });
  EXPECT_NE(m.find("exactly one"), std::string::npos) << m;
  m = error_of([&] { read_video(path("x.mp4"), {-1.0, 0, 0, 0}); });
  EXPECT_NE(m.find("--fps"), std::string::npos) << m;
  expect_no_temp_files();
}

TEST_F(VideoIo, ZeroLengthVideoIsAnError) {
  osp::test::write_frameless_gif(path("zero.gif"));
  const std::string m = error_of([&] { read_video(path("zero.gif")); });
  EXPECT_TRUE(m.find("zero-length") != std::string::npos || m.find("no decodable video stream") != std::string::npos) << m;
  EXPECT_NE(m.find("zero.gif"), std::string::npos) << m;
  {
    VideoWriter writer(path("zero.mp4"), 16, 16, at_fps(16.0));
    EXPECT_THROW(writer.finish(), osp::Error);  // the writer refuses to produce one
  }
  EXPECT_FALSE(fs::exists(path("zero.mp4")));
  expect_no_temp_files();
}

}  // namespace
