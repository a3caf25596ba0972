// Wan VAE (docs/vae.md): the chunked causal encoder and decoder against the independent
// whole-sequence float64 formulation of vae_reference.h, layers, configs, key names, tiling and
// bad input.
#include <gtest/gtest.h>

#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <cstdio>
#include <functional>
#include <map>

#include "expect_error.h"
#include "osp/core/cpu_block_cache.h"
#include "osp/core/error.h"
#include "osp/io/vae_keys.h"
#include "osp/models/vae/codec.h"
#include "osp/models/vae/config.h"
#include "osp/models/vae/loader.h"
#include "osp/models/vae/model.h"
#include "osp/models/vae/random_weights.h"
#include "osp/models/vae/tiling.h"
#include "test_util.h"
#include "vae_reference.h"
#include "vae_tiny.h"

namespace {

using osp::test::rel_error;
using namespace osp::vae;
using namespace osp::test::vae_tiny;  // TinyCase, tiny_config, tiny_cases

osp::test::vae_ref::Params params_of(const WanVAE& model) {
  osp::test::vae_ref::Params p;
  for (const auto& item : model.named_parameters(true)) p[item.key()] = item.value().to(at::kDouble);
  return p;
}

class VaeParity : public ::testing::TestWithParam<TinyCase> {};

TEST_P(VaeParity, ChunkedEncodeMatchesWholeSequence) {
  const TinyCase& c = GetParam();
  const VaeConfig cfg = tiny_config(c, 3);
  WanVAE model(cfg);
  randomize_weights(model, 41);
  const auto P = params_of(model);
  const int64_t f = cfg.time_factor();
  for (int64_t k : {0, 1, 2, 3}) {
    const int64_t frames = f * k + 1;
    const at::Tensor video = at::tanh(osp::test::randn({1, 3, frames, c.height, c.width}, 7 + k));
    at::Tensor z;
    {
      c10::InferenceMode inference;
      z = encode(model, video);
    }
    const at::Tensor ref = osp::test::vae_ref::encode(P, cfg, video);
    ASSERT_EQ(z.sizes(), ref.sizes()) << "T = " << frames;
    EXPECT_EQ(z.size(2), k + 1);
    const double err = rel_error(z, ref);
    std::printf("[ vae      ] encode %-10s T = %ld: relative error %.3g\n", c.name, static_cast<long>(frames), err);
    EXPECT_LE(err, 1e-5) << c.name << " T = " << frames;
  }
}

TEST_P(VaeParity, ChunkedDecodeMatchesWholeSequence) {
  const TinyCase& c = GetParam();
  const VaeConfig cfg = tiny_config(c, 5);
  WanVAE model(cfg);
  randomize_weights(model, 43);
  {  // a stronger head puts some outputs beyond ±1, so that the clamp is exercised
    torch::NoGradGuard no_grad;
    model.decoder->head->conv->weight.mul_(3.0);
  }
  const auto P = params_of(model);
  const int64_t s = cfg.space_factor();
  for (int64_t n : {1, 2, 4}) {
    // Two batch rows: the codec decodes them one at a time.
    const at::Tensor z = osp::test::randn({2, cfg.z_dim, n, c.height / s, c.width / s}, 11 + n);
    const at::Tensor video = decode(model, z);
    const at::Tensor ref = osp::test::vae_ref::decode(P, cfg, z);
    ASSERT_EQ(video.sizes(), ref.sizes()) << "latent frames " << n;
    EXPECT_EQ(video.size(2), cfg.video_frames(n));
    const double err = rel_error(video, ref);
    std::printf("[ vae      ] decode %-10s latent frames %ld: relative error %.3g\n", c.name, static_cast<long>(n), err);
    EXPECT_LE(err, 1e-5) << c.name << " latent frames " << n;
    // The clamp must be exercised: random weights put some outputs beyond ±1.
    EXPECT_GT((ref.abs() == 1.0).sum().item<int64_t>(), 0);
    EXPECT_LE(video.abs().max().item<float>(), 1.0f);
  }
}

TEST_P(VaeParity, StreamingDecodeEqualsCollected) {
  const TinyCase& c = GetParam();
  const VaeConfig cfg = tiny_config(c, 5);
  WanVAE model(cfg);
  randomize_weights(model, 47);
  const int64_t s = cfg.space_factor();
  const at::Tensor z = osp::test::randn({1, cfg.z_dim, 3, c.height / s, c.width / s}, 2);
  std::vector<at::Tensor> chunks;
  decode_stream(model, z, [&](const at::Tensor& frames) { chunks.push_back(frames.clone()); });
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].size(2), 1);  // "Chunked causal execution": chunk 0 yields 1 frame, later chunks time_factor frames
  EXPECT_EQ(chunks[1].size(2), cfg.time_factor());
  EXPECT_TRUE(at::equal(at::cat(chunks, 2), decode(model, z)));
}

INSTANTIATE_TEST_SUITE_P(TinyConfigs, VaeParity, ::testing::ValuesIn(tiny_cases()),
                         [](const ::testing::TestParamInfo<TinyCase>& info) { return std::string(info.param.name); });

// The encode and the decode run under the CPU block cache's no-growth rule (docs/memory.md "Large
// CPU blocks"). At every chunk the callback frees a 32 MiB block and then allocates 20 MiB, a size
// the cached block cannot serve: under the rule the 32 MiB block is handed back first (mapping the
// 20 MiB beside it would exceed the 32 MiB peak), so 20 MiB stay cached; with the cache
// unrestricted 52 MiB would, with it off none. The cache is empty after each pass. (Installs the
// cache for this process: ctest runs each test in its own.)
TEST(VaeMemory, EncodeAndDecodeReuseBlocksWithinTheirPeak) {
  constexpr int64_t kMiB = int64_t{1} << 20;
  ASSERT_TRUE(osp::install_cpu_block_cache(256 * kMiB))
      << "another CPU allocator took precedence: run this test in a process of its own";
  const auto free_large_block = [](int64_t mib) { at::empty({mib * kMiB / 4}, at::kFloat); };
  std::vector<int64_t> cached_during;
  const auto at_chunk = [&] {
    free_large_block(32);
    free_large_block(20);
    cached_during.push_back(osp::cpu_block_cache_bytes() / kMiB);
  };

  const TinyCase& c = tiny_cases().front();
  const VaeConfig cfg = tiny_config(c, 5);
  WanVAE model(cfg);
  randomize_weights(model, 47);
  const int64_t s = cfg.space_factor();
  free_large_block(32);
  decode_stream(model, osp::test::randn({1, cfg.z_dim, 2, c.height / s, c.width / s}, 2),
                [&](const at::Tensor&) { at_chunk(); });
  EXPECT_EQ(cached_during, std::vector<int64_t>({20, 20}));
  EXPECT_EQ(osp::cpu_block_cache_bytes(), 0);

  cached_during.clear();
  free_large_block(32);
  model.encode_region(osp::test::randn({1, 3, 5, c.height, c.width}, 3), at_chunk);
  EXPECT_EQ(cached_during, std::vector<int64_t>({20, 20}));
  EXPECT_EQ(osp::cpu_block_cache_bytes(), 0);

  free_large_block(32);  // outside the passes the cache keeps what is freed again
  EXPECT_EQ(osp::cpu_block_cache_bytes(), 32 * kMiB);
}

// The cache rule of "Chunked causal execution" on one conv: chunks 1, 4, 4 through causal_conv3d equal the conv over the
// whole sequence with two zero frames in front (explicit taps, float64).
TEST(VaeLayers, CausalConvChunksEqualWholeSequence) {
  int64_t slot = 0;
  CausalConv3dWeights conv(5, 7, {3, 3, 3}, slot, at::TensorOptions().dtype(at::kFloat));
  conv.weight.copy_(osp::test::randn(conv.weight.sizes(), 1, 0.2));
  conv.bias.copy_(osp::test::randn(conv.bias.sizes(), 2));
  const at::Tensor x = osp::test::randn({2, 5, 9, 6, 5}, 3);
  FeatureCache cache(1);
  std::vector<at::Tensor> parts;
  for (auto [start, len] : std::vector<std::pair<int64_t, int64_t>>{{0, 1}, {1, 4}, {5, 4}}) {
    parts.push_back(causal_conv3d(x.narrow(2, start, len), conv, cache));
  }
  const at::Tensor ref = osp::test::vae_ref::conv_taps(x.to(at::kDouble), conv.weight.to(at::kDouble),
                                                       conv.bias.to(at::kDouble), 2);
  EXPECT_LE(rel_error(at::cat(parts, 2), ref), 1e-6);
  EXPECT_EQ(cache[0].frames.size(2), 2);
}

TEST(VaeLayers, RmsNormIsL2NormalizationOverChannels) {
  const at::Tensor x = osp::test::randn({2, 6, 3, 4, 5}, 9);
  const at::Tensor gamma = osp::test::randn({6, 1, 1, 1}, 10);
  const at::Tensor y = rms_norm_channels(x, gamma);
  const auto xa = x.accessor<float, 5>();
  const auto ya = y.accessor<float, 5>();
  double max_err = 0;
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t t = 0; t < 3; ++t)
      for (int64_t h = 0; h < 4; ++h)
        for (int64_t w = 0; w < 5; ++w) {
          double sq = 0;
          for (int64_t c = 0; c < 6; ++c) sq += static_cast<double>(xa[b][c][t][h][w]) * xa[b][c][t][h][w];
          for (int64_t c = 0; c < 6; ++c) {
            const double want = xa[b][c][t][h][w] / std::max(std::sqrt(sq), 1e-12) * std::sqrt(6.0) *
                                gamma[c][0][0][0].item<double>();
            max_err = std::max(max_err, std::abs(want - ya[b][c][t][h][w]) / (std::abs(want) + 1e-3));
          }
        }
  EXPECT_LE(max_err, 1e-5);
  // A zero vector stays zero (the 1e-12 floor, no division by zero).
  EXPECT_TRUE(rms_norm_channels(at::zeros({1, 6, 1, 1, 1}), gamma).eq(0).all().item<bool>());
}

TEST(VaeConfig, Wan21ParameterCountAndShapes) {
  WanVAE model(VaeConfig::wan21());  // uninitialized: pages are never touched
  int64_t total = 0, encoder = 0, decoder = 0;
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& item : model.named_parameters(true)) {
    total += item.value().numel();
    if (item.key().rfind("encoder.", 0) == 0) encoder += item.value().numel();
    if (item.key().rfind("decoder.", 0) == 0) decoder += item.value().numel();
    shapes[item.key()] = item.value().sizes().vec();
  }
  EXPECT_EQ(total, 126892531);  // "Configuration"
  EXPECT_EQ(encoder, 53595872);
  EXPECT_EQ(decoder, 73295331);
  // A sample of the table of "Checkpoint keys".
  using V = std::vector<int64_t>;
  EXPECT_EQ(shapes.at("encoder.conv1.weight"), (V{96, 3, 3, 3, 3}));
  EXPECT_EQ(shapes.at("encoder.downsamples.3.shortcut.weight"), (V{192, 96, 1, 1, 1}));
  EXPECT_EQ(shapes.at("encoder.downsamples.5.time_conv.weight"), (V{192, 192, 3, 1, 1}));
  EXPECT_EQ(shapes.at("encoder.downsamples.8.resample.1.weight"), (V{384, 384, 3, 3}));
  EXPECT_EQ(shapes.at("encoder.middle.1.norm.gamma"), (V{384, 1, 1}));
  EXPECT_EQ(shapes.at("encoder.middle.1.to_qkv.weight"), (V{1152, 384, 1, 1}));
  EXPECT_EQ(shapes.at("encoder.head.2.weight"), (V{32, 384, 3, 3, 3}));
  EXPECT_EQ(shapes.at("conv1.weight"), (V{32, 32, 1, 1, 1}));
  EXPECT_EQ(shapes.at("conv2.weight"), (V{16, 16, 1, 1, 1}));
  EXPECT_EQ(shapes.at("decoder.conv1.weight"), (V{384, 16, 3, 3, 3}));
  EXPECT_EQ(shapes.at("decoder.upsamples.4.shortcut.weight"), (V{384, 192, 1, 1, 1}));
  EXPECT_EQ(shapes.at("decoder.upsamples.7.time_conv.weight"), (V{768, 384, 3, 1, 1}));
  EXPECT_EQ(shapes.at("decoder.upsamples.7.resample.1.weight"), (V{192, 384, 3, 3}));
  EXPECT_EQ(shapes.at("decoder.upsamples.11.resample.1.weight"), (V{96, 192, 3, 3}));
  EXPECT_EQ(shapes.at("decoder.head.2.weight"), (V{3, 96, 3, 3, 3}));
  EXPECT_EQ(shapes.count("decoder.upsamples.11.time_conv.weight"), 0u);
}

TEST(VaeConfig, JsonRoundTripAndErrors) {
  const VaeConfig wan = VaeConfig::wan21();
  const VaeConfig back = VaeConfig::from_json(wan.to_json());
  EXPECT_EQ(back.dim_mult, wan.dim_mult);
  EXPECT_EQ(back.temperal_downsample, wan.temperal_downsample);
  EXPECT_EQ(back.latents_std, wan.latents_std);
  EXPECT_EQ(wan.time_factor(), 4);
  EXPECT_EQ(wan.space_factor(), 8);
  EXPECT_EQ(wan.latent_frames(81), 21);
  EXPECT_EQ(wan.video_frames(21), 81);
  auto j = wan.to_json();
  j["attn_scales"] = {1.0};
  EXPECT_THROW(VaeConfig::from_json(j, "cfg.json"), osp::Error);
  j = wan.to_json();
  j["temperal_downsample"] = {true, false};
  try {
    VaeConfig::from_json(j, "cfg.json");
    FAIL();
  } catch (const osp::Error& e) {
    EXPECT_NE(std::string(e.what()).find("temperal_downsample"), std::string::npos) << e.what();
  }
  j = wan.to_json();
  j["z_dim"] = 8;
  j.erase("latents_mean");
  EXPECT_THROW(VaeConfig::from_json(j, "cfg.json"), osp::Error);
}

TEST(VaeKeys, DiffusersNamesMapToWanNames) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"quant_conv.weight", "conv1.weight"},
      {"post_quant_conv.bias", "conv2.bias"},
      {"encoder.conv_in.weight", "encoder.conv1.weight"},
      {"encoder.down_blocks.3.conv_shortcut.weight", "encoder.downsamples.3.shortcut.weight"},
      {"encoder.down_blocks.0.norm1.gamma", "encoder.downsamples.0.residual.0.gamma"},
      {"encoder.down_blocks.4.conv2.bias", "encoder.downsamples.4.residual.6.bias"},
      {"encoder.down_blocks.5.time_conv.weight", "encoder.downsamples.5.time_conv.weight"},
      {"encoder.down_blocks.2.resample.1.weight", "encoder.downsamples.2.resample.1.weight"},
      {"encoder.mid_block.resnets.1.norm2.gamma", "encoder.middle.2.residual.3.gamma"},
      {"decoder.mid_block.attentions.0.to_qkv.weight", "decoder.middle.1.to_qkv.weight"},
      {"encoder.norm_out.gamma", "encoder.head.0.gamma"},
      {"decoder.conv_out.weight", "decoder.head.2.weight"},
      {"decoder.up_blocks.1.resnets.0.conv_shortcut.weight", "decoder.upsamples.4.shortcut.weight"},
      {"decoder.up_blocks.3.resnets.2.conv1.weight", "decoder.upsamples.14.residual.2.weight"},
      {"decoder.up_blocks.0.upsamplers.0.time_conv.bias", "decoder.upsamples.3.time_conv.bias"},
      {"decoder.up_blocks.2.upsamplers.0.resample.1.weight", "decoder.upsamples.11.resample.1.weight"},
      {"decoder.upsamples.7.time_conv.weight", "decoder.upsamples.7.time_conv.weight"},
  };
  for (const auto& [diffusers, wan] : cases) EXPECT_EQ(osp::io::canonical_vae_key(diffusers, 2), wan) << diffusers;
}

// ---- bad input ----

using osp::test::error_of;

TEST(VaeBadInput, MessagesNameTheProblem) {
  const VaeConfig cfg = VaeConfig::wan21();
  std::string m = error_of([&] { check_video(at::zeros({1, 3, 10, 16, 16}), cfg); });
  EXPECT_NE(m.find("T = 10"), std::string::npos) << m;
  EXPECT_NE(m.find("9 or 13"), std::string::npos) << m;
  m = error_of([&] { check_video(at::zeros({1, 3, 2, 16, 16}), cfg); });
  EXPECT_NE(m.find("1 or 5"), std::string::npos) << m;
  m = error_of([&] { check_video(at::zeros({1, 3, 5, 20, 16}), cfg); });
  EXPECT_NE(m.find("multiples of 8"), std::string::npos) << m;
  m = error_of([&] { check_video(at::zeros({1, 4, 5, 16, 16}), cfg); });
  EXPECT_NE(m.find("3 channels"), std::string::npos) << m;
  m = error_of([&] { check_video(at::zeros({3, 5, 16, 16}), cfg); });
  EXPECT_NE(m.find("[B, 3, T, H, W]"), std::string::npos) << m;
  m = error_of([&] { check_latents(at::zeros({1, 8, 2, 2, 2}), cfg); });
  EXPECT_NE(m.find("16 latent channels"), std::string::npos) << m;
  m = error_of([&] { check_tiling({100, 64}, cfg); });
  EXPECT_NE(m.find("--tile-size"), std::string::npos) << m;
  m = error_of([&] { check_tiling({128, 128}, cfg); });
  EXPECT_NE(m.find("--tile-overlap"), std::string::npos) << m;
}

// ---- tiling ----

TEST(VaeTiling, SpansCoverTheExtentAndWeightsSumToOne) {
  for (int64_t extent : {7, 32, 40, 62, 100}) {
    const auto spans = tile_spans(extent, 32, 8);
    EXPECT_EQ(spans.front().start, 0);
    EXPECT_EQ(spans.back().end(), extent);
    at::Tensor sum = at::zeros({extent * 8});
    for (size_t i = 0; i < spans.size(); ++i) {
      EXPECT_LE(spans[i].length, 32);
      if (i) {
        EXPECT_LT(spans[i].start, spans[i - 1].end());  // neighbours overlap
      }
      sum.narrow(0, spans[i].start * 8, spans[i].length * 8).add_(span_weights(spans, i, 8));
    }
    // Ramps of neighbours sum to 1 where two tiles share pixels (the blender divides anyway).
    if (spans.size() <= 2 || extent == 100) {
      EXPECT_TRUE(at::allclose(sum, at::ones_like(sum), 0, 1e-6)) << extent;
    }
  }
}

struct TilingFixture {
  VaeConfig cfg;
  std::unique_ptr<WanVAE> model;
  TilingFixture(bool attention) {
    cfg = tiny_config({"t", 4, 4, {1, 2}, 1, {true}, 0, 0}, 1);
    model = std::make_unique<WanVAE>(cfg);
    randomize_weights(*model, 17);
    if (!attention) {  // proj = 0: the attention blocks add nothing, the receptive field is finite
      torch::NoGradGuard g;
      for (auto* w : {model->encoder->middle->attn.get(), model->decoder->middle->attn.get()}) {
        w->proj->weight.zero_();
        w->proj->bias.zero_();
      }
    }
  }
};

// Spatial receptive radius of the tiny 2-level config above with attention switched off, counted
// in 3×3 convs: decoder conv1 + 2 middle blocks (4) + 2 level-0 blocks (4) = 9 latent pixels = 18
// video pixels, then the upsample conv + 2 blocks (4) + head = 6: 24 pixels. Encoder: conv1 + 1 block
// (2) + the stride-2 downsample ≈ 5 pixels, then 1 block + middle + head = 7 latent pixels: ≈ 19.
// A margin of 32 pixels from internal tile borders is outside both.
constexpr int64_t kMargin = 32;

TEST(VaeTiling, TilesWithoutOverlapMatchUntiledAwayFromBorders) {
  TilingFixture f(/*attention=*/false);
  // 128 px wide, tiles of 64 without overlap: the only internal border is at x = 64.
  const at::Tensor z = osp::test::randn({1, 4, 2, 4, 64}, 5);
  const at::Tensor full = decode(*f.model, z);
  const at::Tensor tiled = decode(*f.model, z, {64, 0});
  EXPECT_FALSE(at::allclose(full, tiled));  // the border region differs...
  const auto away = [](const at::Tensor& v) {
    return at::cat({v.narrow(4, 0, 64 - kMargin), v.narrow(4, 64 + kMargin, v.size(4) - 64 - kMargin)}, 4);
  };
  EXPECT_LE(rel_error(away(tiled), away(full)), 1e-5);  // ...but not beyond the receptive field
  // A tile covering the whole frame is the untiled computation.
  EXPECT_TRUE(at::equal(decode(*f.model, z, {128, 0}), full));

  const at::Tensor video = at::tanh(osp::test::randn({1, 3, 5, 8, 128}, 6));
  const at::Tensor zfull = encode(*f.model, video);
  const at::Tensor ztiled = encode(*f.model, video, {64, 0});
  const int64_t m = kMargin / 2;  // latent pixels
  const auto zaway = [m](const at::Tensor& v) {
    return at::cat({v.narrow(4, 0, 32 - m), v.narrow(4, 32 + m, v.size(4) - 32 - m)}, 4);
  };
  EXPECT_LE(rel_error(zaway(ztiled), zaway(zfull)), 1e-5);
}

// With attention and overlapping tiles the result is an approximation of the untiled one; the
// bound (documented in docs/vae.md) is 10% relative error on this random tiny model, and the
// blended overlap must beat hard tile borders.
TEST(VaeTiling, OverlapBlendingStaysWithinBound) {
  TilingFixture f(/*attention=*/true);
  // 64×64 pixels: 32-pixel tiles meet hard at 32 without overlap; with 16 overlap three tiles blend.
  const at::Tensor z = osp::test::randn({1, 4, 2, 32, 32}, 8);
  const at::Tensor full = decode(*f.model, z);
  const double blended = rel_error(decode(*f.model, z, {32, 16}), full);
  const double hard = rel_error(decode(*f.model, z, {32, 0}), full);
  std::printf("[ vae      ] tiled decode relative error: overlap 16 %.3g, no overlap %.3g\n", blended, hard);
  EXPECT_LE(blended, 0.10);
  EXPECT_LT(blended, hard);
  const at::Tensor video = at::tanh(osp::test::randn({1, 3, 5, 64, 64}, 9));
  const at::Tensor zfull = encode(*f.model, video);
  const double encoded = rel_error(encode(*f.model, video, {32, 16}), zfull);
  std::printf("[ vae      ] tiled encode relative error: overlap 16 %.3g\n", encoded);
  EXPECT_LE(encoded, 0.10);
}

}  // namespace
