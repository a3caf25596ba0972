// The latent preview map (models/vae/latent_preview.h): the colours behind each latent pixel, the
// fit and the picture against explicit float64 loops, the fit recovering a known affine map, and
// the file's checks.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "expect_error.h"
#include "osp/models/vae/latent_preview.h"
#include "scratch_dir.h"

namespace osp::vae {
namespace {

// The mean colour behind latent pixel (k, i, j), by loops.
double block_mean(const at::Tensor& video, int64_t c, int64_t k, int64_t i, int64_t j, int64_t tf, int64_t sf) {
  const auto v = video.accessor<double, 4>();
  const int64_t t0 = k == 0 ? 0 : tf * (k - 1) + 1, t1 = k == 0 ? 1 : tf * k + 1;
  double sum = 0;
  int64_t n = 0;
  for (int64_t t = t0; t < t1; ++t)
    for (int64_t y = i * sf; y < (i + 1) * sf; ++y)
      for (int64_t x = j * sf; x < (j + 1) * sf; ++x, ++n) sum += v[c][t][y][x];
  return sum / static_cast<double>(n);
}

TEST(LatentPreview, PixelColoursAreTheBlockMeans) {
  at::manual_seed(1);
  const at::Tensor video = at::rand({3, 9, 16, 8}, at::kDouble) * 2 - 1;
  const at::Tensor colours = latent_pixel_colours(video, 4, 4);
  ASSERT_EQ(colours.sizes(), (std::vector<int64_t>{3, 3, 4, 2}));
  const auto got = colours.accessor<double, 4>();
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t k = 0; k < 3; ++k)
      for (int64_t i = 0; i < 4; ++i)
        for (int64_t j = 0; j < 2; ++j) EXPECT_NEAR(got[c][k][i][j], block_mean(video, c, k, i, j, 4, 4), 1e-12);
}

TEST(LatentPreview, FitRecoversAKnownAffineMapAndMatchesTheNormalEquations) {
  at::manual_seed(2);
  const int64_t z = 5, tf = 4, sf = 2;
  const at::Tensor weight = at::randn({3, z}, at::kDouble) * 0.3;
  const at::Tensor bias = at::randn({3}, at::kDouble) * 0.1;
  LatentPreviewFit fit(z, tf, sf);
  std::vector<double> rows, targets;  // for the explicit normal equations
  for (int clip = 0; clip < 3; ++clip) {
    const at::Tensor latents = at::randn({z, 3, 4, 4}, at::kDouble);
    // A video whose blocks average to W·z + b plus noise that cancels within each block.
    at::Tensor mean = at::tensordot(weight, latents, {1}, {0}) + bias.view({3, 1, 1, 1});  // [3, 3, 4, 4]
    at::Tensor video = at::empty({3, 9, 8, 8}, at::kDouble);
    video.narrow(1, 0, 1).copy_(at::upsample_nearest2d(mean.narrow(1, 0, 1), {8, 8}));
    for (int64_t k = 1; k < 3; ++k) {
      video.narrow(1, tf * (k - 1) + 1, tf).copy_(at::upsample_nearest2d(mean.narrow(1, k, 1), {8, 8}).expand({3, tf, 8, 8}));
    }
    const at::Tensor wiggle = at::randn({3, 1, 8, 8}, at::kDouble) * 0.05;
    video.narrow(1, 1, 2).add_(wiggle);
    video.narrow(1, 3, 2).sub_(wiggle);  // frames 1–4 are one group: the wiggle cancels in its mean
    fit.add(latents.to(at::kFloat), video.to(at::kFloat));
  }
  const LatentPreview got = fit.solve();
  EXPECT_LT((got.weight - weight).abs().max().item<double>(), 1e-5);
  EXPECT_LT((got.bias - bias).abs().max().item<double>(), 1e-5);
  EXPECT_EQ(fit.samples(), 3 * 3 * 4 * 4);
  // The data is exactly affine: no residual. A wrong map has one, equal to its explicit sum.
  EXPECT_LT(fit.quality(got).rms_error, 1e-5);
  EXPECT_GT(fit.quality(got).r_squared, 1 - 1e-8);
  const LatentPreview off{got.weight, got.bias + 0.1};
  EXPECT_NEAR(fit.quality(off).rms_error, 0.1, 1e-5);  // every residual is exactly 0.1
}

TEST(LatentPreview, PictureIsTheClampedAffineMapInBytes) {
  at::manual_seed(3);
  LatentPreview map{at::randn({3, 4}, at::kDouble), at::randn({3}, at::kDouble) * 0.2};
  const at::Tensor latents = at::randn({4, 2, 3, 5});
  const at::Tensor image = preview_rgb(latents, map);
  ASSERT_EQ(image.sizes(), (std::vector<int64_t>{2, 3, 5, 3}));
  ASSERT_EQ(image.scalar_type(), at::kByte);
  const at::Tensor z64 = latents.to(at::kDouble);
  const auto z = z64.accessor<double, 4>();
  const auto w = map.weight.accessor<double, 2>();
  const auto b = map.bias.accessor<double, 1>();
  const auto got = image.accessor<uint8_t, 4>();
  for (int64_t k = 0; k < 2; ++k)
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 5; ++j)
        for (int64_t c = 0; c < 3; ++c) {
          double v = b[c];
          for (int64_t q = 0; q < 4; ++q) v += w[c][q] * z[q][k][i][j];
          v = std::min(1.0, std::max(-1.0, v));
          EXPECT_NEAR(got[k][i][j][c], std::round((v + 1) * 127.5), 1.0);
        }
}

TEST(LatentPreview, FileRoundTripsAndBadFilesAreClearErrors) {
  test::ScratchDir dir;
  const std::string path = dir / "latent_preview.json";
  const LatentPreview map{at::randn({3, 4}, at::kDouble), at::randn({3}, at::kDouble)};
  write_latent_preview(path, map, 123);
  const LatentPreview back = read_latent_preview(path, 4);
  EXPECT_TRUE(at::allclose(back.weight, map.weight, 1e-15, 1e-15));
  EXPECT_TRUE(at::allclose(back.bias, map.bias, 1e-15, 1e-15));
  test::expect_error([&] { read_latent_preview(path, 8); }, {path, "8 numbers"});
  const auto write = [&](const std::string& text) { std::ofstream(path) << text; };
  write("{\"weight\": [[1, 2], [3, 4]], \"bias\": [0, 0, 0]}");
  test::expect_error([&] { read_latent_preview(path, 2); }, {path, "3 rows"});
  write("{\"weight\": [[1, 2], [3, 4], [5, \"x\"]], \"bias\": [0, 0, 0]}");
  test::expect_error([&] { read_latent_preview(path, 2); }, {path, "non-number"});
  write("{\"weight\": [[1, 2], [3, 4], [5, 6]]");
  test::expect_error([&] { read_latent_preview(path, 2); }, {path, "JSON"});
  test::expect_error([&] { read_latent_preview(dir / "none.json", 2); }, {"none.json", "cannot open"});
  const std::filesystem::path vae = dir / "vae";
  EXPECT_EQ(latent_preview_path((vae / "model.safetensors").string()), (vae / "latent_preview.json").string());
}

}  // namespace
}  // namespace osp::vae
