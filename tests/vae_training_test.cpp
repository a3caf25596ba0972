// VAE training (train/vae_objective.h, the `vae:` form of `osp train`): the graph-recording VAE
// path computes the inference path's numbers, its gradients match central differences of the loss,
// the KL term matches its closed form, a short run lowers the loss and writes a loadable
// checkpoint with measured latent statistics, and VAE configs are checked field by field.
#include <gtest/gtest.h>

#include <ATen/core/grad_mode.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <filesystem>

#include "expect_error.h"
#include "scratch_dir.h"
#include "test_util.h"
#include "osp/io/safetensors_writer.h"
#include "osp/io/tensor_source.h"
#include "osp/models/vae/loader.h"
#include "osp/models/vae/random_weights.h"
#include "osp/train/edge_loss.h"
#include "osp/train/reconstruction_weights.h"
#include "osp/shapes/dataset.h"
#include "osp/train/train_config.h"
#include "osp/train/trainer.h"
#include "osp/train/vae_objective.h"

namespace {

namespace fs = std::filesystem;
using osp::train::TrainConfig;

// A micro VAE that keeps the tests fast: 3 levels (space factor 4), one temporal downsample (time
// factor 2), base width 4, 2 latent channels.
const char* const kVaeFields =
    "  fields: {base_dim: 4, z_dim: 2, dim_mult: [1, 2, 2], num_res_blocks: 1, temperal_downsample: [true, false]}\n";

std::string vae_config(const std::string& manifest, const std::string& output_dir, const std::string& extra = "") {
  return std::string("vae:\n") + kVaeFields + "  kl_weight: 0.01\n" + "data:\n  videos: " + manifest +
         "\n  frames: 5\n  size: 16\n" + "optimizer: {lr: 3.0e-3, warmup_steps: 2}\n" +
         "steps: 20\nbatch_size: 2\nema_decay: 0\nlog_every: 100\noutput_dir: " + output_dir + "\n" + extra;
}

// Eight 16×16 Shapes clips of 5 frames (train split) and their manifest.
std::string write_clips(const fs::path& dir) {
  osp::shapes::ShapesDatasetOptions o;
  o.out = dir.string();
  o.count = 8;
  o.seed = 3;
  o.size = 16;
  o.frames = 5;
  o.progress = false;
  osp::shapes::write_shapes_dataset(o);
  return (dir / "manifest.jsonl").string();
}

void add_to_parameters(osp::nn::ParamModule& m, const at::Tensor& delta) {
  at::NoGradGuard no_grad;
  int64_t offset = 0;
  for (auto& p : m.parameters()) {
    p.add_(delta.narrow(0, offset, p.numel()).view_as(p));
    offset += p.numel();
  }
}

TEST(VaeTraining, GraphPathEqualsInferencePath) {
  osp::vae::VaeConfig c = osp::vae::VaeConfig::wan21();
  c.base_dim = 4;
  c.z_dim = 2;
  c.dim_mult = {1, 2, 2};
  c.num_res_blocks = 1;
  c.temperal_downsample = {true, false};
  c.latents_mean = {0.3, -0.2};
  c.latents_std = {1.5, 0.7};
  osp::vae::WanVAE vae(c);
  osp::vae::randomize_weights(vae, 4);
  const at::Tensor video = osp::test::randn({1, 3, 9, 16, 16}, 5).clamp(-1, 1);
  at::Tensor inference_latents;
  std::vector<at::Tensor> inference_frames, graph_frames;
  {
    c10::InferenceMode guard;
    inference_latents = vae.encode_region(video);
    vae.decode_region(inference_latents, [&](const at::Tensor& f) { inference_frames.push_back(f.clone()); });
  }
  for (auto& p : vae.parameters()) p.requires_grad_(true);
  const at::Tensor moments = vae.encode_moments(video);
  ASSERT_TRUE(moments.requires_grad());
  const at::Tensor latents = vae.normalize(moments.narrow(1, 0, c.z_dim));
  EXPECT_LT(osp::test::rel_error(latents.detach(), inference_latents), 1e-6);
  vae.decode_raw(vae.denormalize(latents), [&](const at::Tensor& f) { graph_frames.push_back(f); });
  const at::Tensor graph_video = at::cat(graph_frames, 2);
  EXPECT_LT(osp::test::rel_error(graph_video.detach(), at::cat(inference_frames, 2)), 1e-5);
  graph_video.pow(2).sum().backward();  // the graph is complete: no in-place op broke it
  for (const auto& p : vae.parameters()) EXPECT_TRUE(p.grad().defined());
}

TEST(VaeTraining, KlMatchesItsClosedForm) {
  const at::Tensor mu = osp::test::randn({2, 3, 4}, 1, 0.7), logvar = osp::test::randn({2, 3, 4}, 2, 0.5);
  const at::Tensor kl = osp::train::gaussian_kl(mu, logvar);
  auto m = mu.to(at::kDouble), lv = logvar.to(at::kDouble);
  // KL(N(m, s²) ‖ N(0, 1)) = log(1/s) + (s² + m²)/2 − ½, s² = exp(lv).
  const at::Tensor expected = -0.5 * lv + 0.5 * (lv.exp() + m.pow(2)) - 0.5;
  EXPECT_LT(osp::test::rel_error(kl.to(at::kDouble), expected), 1e-6);
  EXPECT_GT(kl.min().item<double>(), -1e-7);  // never negative
}

TEST(VaeTraining, GradientMatchesCentralDifferences) {
  const osp::test::ScratchDir dir;
  const TrainConfig config = TrainConfig::from_yaml(vae_config(write_clips(dir.path()), dir / "out"));
  osp::train::VaeObjective objective(config);
  osp::nn::ParamModule& m = objective.module();
  for (auto& p : m.parameters()) p.requires_grad_(true);
  const std::vector<osp::train::SampleRef> samples = {{1, 10}, {4, 11}};
  objective.loss(samples).backward();
  std::vector<at::Tensor> grads;
  for (const auto& p : m.parameters()) grads.push_back(p.grad().reshape(-1));
  const at::Tensor grad = at::cat(grads).to(at::kDouble);
  // Directional derivative along a random unit direction of all parameters.
  at::Tensor d = osp::test::randn({grad.numel()}, 7);
  d = d / d.norm();
  const double eps = 1e-3;
  add_to_parameters(m, eps * d);
  const double plus = objective.loss(samples).item<double>();
  add_to_parameters(m, -2 * eps * d);
  const double minus = objective.loss(samples).item<double>();
  add_to_parameters(m, eps * d);
  const double numeric = (plus - minus) / (2 * eps);
  const double analytic = (grad * d.to(at::kDouble)).sum().item<double>();
  EXPECT_NEAR(numeric, analytic, 2e-2 * std::abs(analytic) + 1e-5) << "numeric " << numeric << " analytic " << analytic;
  EXPECT_GT(std::abs(analytic), 1e-4);  // a direction that actually changes the loss
}

TEST(VaeTraining, ShortRunLowersTheLossAndWritesALoadableCheckpoint) {
  const osp::test::ScratchDir dir;
  const TrainConfig config = TrainConfig::from_yaml(vae_config(write_clips(dir.path()), dir / "out"));
  osp::train::Trainer trainer(config, osp::train::make_objective(config));
  const auto stats = trainer.run();
  ASSERT_EQ(stats.size(), 20u);
  double first = 0, last = 0;
  for (size_t i = 0; i < 4; ++i) first += stats[i].loss / 4;
  for (size_t i = 16; i < 20; ++i) last += stats[i].loss / 4;
  EXPECT_LT(last, 0.9 * first) << "first " << first << " last " << last;

  const fs::path checkpoint = dir.path() / "out" / "checkpoints" / "step-00000020";
  const auto loaded = osp::vae::load_vae((checkpoint / "model.safetensors").string(), (checkpoint / "config.json").string());
  const osp::vae::VaeConfig& c = loaded->config();
  ASSERT_EQ(c.latents_mean.size(), 2u);
  for (double s : c.latents_std) EXPECT_GT(s, 0);
  // The measured statistics are not the architecture's placeholders 0 / 1.
  EXPECT_NE(c.latents_mean[0], 0.0);
  EXPECT_NE(c.latents_std[0], 1.0);
  for (const auto& item : loaded->named_parameters()) {
    EXPECT_TRUE(at::equal(item.value(), trainer.model().named_parameters()[item.key()].detach())) << item.key();
  }
}

// A clip whose frames each have their own flat colour and a 3×3 square of another (moving).
at::Tensor square_clip(at::Tensor* truth) {
  const int64_t T = 5, S = 8;
  at::Tensor clip = at::empty({1, 3, T, S, S});
  *truth = at::zeros({1, 1, T, S, S});
  const at::Tensor colours = osp::test::randn({T, 3}, 21, 0.3);
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t c = 0; c < 3; ++c) clip[0][c][t].fill_(colours[t][c].item<float>());
    clip[0].select(1, t).narrow(1, 2, 3).narrow(2, 1 + t / 2, 3).add_(0.5);  // all channels: distance 0.87
    (*truth)[0][0][t].narrow(0, 2, 3).narrow(1, 1 + t / 2, 3).fill_(1);
  }
  return clip;
}

TEST(VaeTraining, ForegroundMaskFindsTheObject) {
  at::Tensor truth;
  const at::Tensor clip = square_clip(&truth);
  EXPECT_TRUE(at::equal(osp::train::foreground_mask(clip), truth));
  EXPECT_EQ(osp::train::foreground_mask(clip, 0.9).sum().item<float>(), 0.f);  // farther than the square
}

TEST(VaeTraining, ReconstructionWeightsMatchAnExplicitSum) {
  at::Tensor truth;
  const at::Tensor clip = square_clip(&truth);
  const at::Tensor error = osp::test::randn({1, 3, 5, 8, 8}, 9).abs();
  const double first = 8.0, foreground = 3.0;
  const auto e = error.to(at::kDouble).contiguous();
  const auto fg = truth.to(at::kDouble).contiguous();
  const double* ep = e.data_ptr<double>();
  const double* fp = fg.data_ptr<double>();
  double num = 0, den = 0;
  for (int64_t c = 0; c < 3; ++c) {
    for (int64_t i = 0; i < 5 * 64; ++i) {
      const double w = (i < 64 ? first : 1.0) * (fp[i] > 0 ? foreground : 1.0);
      num += w * ep[c * 5 * 64 + i];
      den += w;
    }
  }
  const at::Tensor weights = osp::train::reconstruction_weights(clip, first, foreground);
  EXPECT_NEAR(osp::train::weighted_mean(error, weights).item<double>(), num / den, 1e-6 * num / den);
  const at::Tensor plain = osp::train::reconstruction_weights(clip, 1.0, 1.0);
  EXPECT_NEAR(osp::train::weighted_mean(error, plain).item<double>(), error.mean().item<double>(), 1e-6);
  EXPECT_GT(std::abs(num / den - e.mean().item<double>()), 1e-3);  // the weights change the number
}

// The edge term against explicit loops in float64: mean |Δx r − Δx t| + mean |Δy r − Δy t|.
TEST(VaeTraining, EdgeLossMatchesExplicitDifferences) {
  const at::Tensor r = at::randn({2, 3, 2, 5, 7}, at::kDouble), t = at::randn({2, 3, 2, 5, 7}, at::kDouble);
  const auto ra = r.accessor<double, 5>(), ta = t.accessor<double, 5>();
  double sx = 0, sy = 0;
  int64_t nx = 0, ny = 0;
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t f = 0; f < 2; ++f)
        for (int64_t y = 0; y < 5; ++y)
          for (int64_t x = 0; x < 7; ++x) {
            if (x + 1 < 7) {
              sx += std::abs((ra[b][c][f][y][x + 1] - ra[b][c][f][y][x]) - (ta[b][c][f][y][x + 1] - ta[b][c][f][y][x]));
              ++nx;
            }
            if (y + 1 < 5) {
              sy += std::abs((ra[b][c][f][y + 1][x] - ra[b][c][f][y][x]) - (ta[b][c][f][y + 1][x] - ta[b][c][f][y][x]));
              ++ny;
            }
          }
  const double expected = sx / nx + sy / ny;
  EXPECT_NEAR(osp::train::edge_l1(r, t).item<double>(), expected, 1e-12 * expected);
  // A constant shift changes no difference; a shifted edge does.
  EXPECT_NEAR(osp::train::edge_l1(t + 0.5, t).item<double>(), 0.0, 1e-12);
  EXPECT_GT(osp::train::edge_l1(t.roll(1, 4), t).item<double>(), 0.1);
  EXPECT_THROW(osp::train::edge_l1(r, t.narrow(4, 0, 6)), osp::Error);
}

// vae.freeze_encoder: the encoder and conv1 keep their starting weights (so cached latents stay
// valid) while the decoder trains.
TEST(VaeTraining, FrozenEncoderRunTrainsOnlyTheDecoder) {
  const osp::test::ScratchDir dir;
  const TrainConfig base = TrainConfig::from_yaml(vae_config(write_clips(dir.path()), dir / "unused"));
  osp::vae::WanVAE start(*base.vae);
  osp::vae::randomize_weights(start, 5);
  std::vector<std::pair<std::string, at::Tensor>> weights;
  for (const auto& item : start.named_parameters()) weights.emplace_back(item.key(), item.value());
  const std::string weights_file = dir / "start.safetensors";
  osp::io::write_safetensors(weights_file, weights);

  std::string text = vae_config(dir / "manifest.jsonl", dir / "out");
  text.replace(text.find("data:"), 5,
               "  weights: " + weights_file + "\n  freeze_encoder: true\n  first_frame_weight: 4\n  foreground_weight: 2\ndata:");
  text.replace(text.find("steps: 20"), 9, "steps: 6");
  const TrainConfig config = TrainConfig::from_yaml(text);
  ASSERT_TRUE(config.freeze_encoder);
  osp::train::Trainer trainer(config, osp::train::make_objective(config));
  trainer.run();
  int64_t frozen = 0, trained = 0;
  for (const auto& item : trainer.model().named_parameters()) {
    const std::string& name = item.key();
    const at::Tensor before = start.named_parameters()[name];
    if (name.rfind("encoder.", 0) == 0 || name.rfind("conv1.", 0) == 0) {
      EXPECT_TRUE(at::equal(item.value().detach(), before)) << name;
      ++frozen;
    } else if (!at::equal(item.value().detach(), before)) {
      ++trained;
    }
  }
  EXPECT_GT(frozen, 10);
  EXPECT_GT(trained, 10);

  using osp::test::expect_error;
  std::string no_weights = vae_config("clips.jsonl", "out");
  no_weights.replace(no_weights.find("data:"), 5, "  freeze_encoder: true\ndata:");
  expect_error([&] { TrainConfig::from_yaml(no_weights, "vae.yaml"); }, {"vae.yaml", "freeze_encoder", "weights"});
  std::string zero = vae_config("clips.jsonl", "out");
  zero.replace(zero.find("data:"), 5, "  first_frame_weight: 0\ndata:");
  expect_error([&] { TrainConfig::from_yaml(zero, "vae.yaml"); }, {"vae.yaml", "first_frame_weight", "> 0"});
  std::string negative = vae_config("clips.jsonl", "out");
  negative.replace(negative.find("data:"), 5, "  foreground_weight: -1\ndata:");
  expect_error([&] { TrainConfig::from_yaml(negative, "vae.yaml"); }, {"vae.yaml", "foreground_weight", "> 0"});
}

TEST(VaeTraining, ConfigErrorsNameTheField) {
  using osp::test::expect_error;
  const auto parse = [](const std::string& text) { return [text] { TrainConfig::from_yaml(text, "vae.yaml"); }; };
  const std::string ok = vae_config("clips.jsonl", "out");
  EXPECT_TRUE(TrainConfig::from_yaml(ok).trains_vae());
  expect_error(parse(ok + "precision: bf16\n"), {"vae.yaml", "precision", "fp32"});
  expect_error(parse("model: {preset: wan2.1-t2v-1.3b}\n" + ok), {"vae.yaml", "exactly one of model"});
  std::string bad_frames = ok;
  bad_frames.replace(bad_frames.find("frames: 5"), 9, "frames: 6");
  expect_error(parse(bad_frames), {"data.frames", "k + 1 (the VAE's temporal factor)"});
  expect_error(parse(ok.substr(0, ok.find("  size: 16")) + "  size: 16\n  crop: 3\n" + ok.substr(ok.find("optimizer"))),
               {"data.crop", "multiple"});
  std::string unknown = ok;
  unknown.replace(unknown.find("base_dim"), 8, "width");
  expect_error(parse(unknown), {"vae.yaml", "unknown VAE field width"});
  std::string no_videos = ok;
  no_videos.replace(no_videos.find("videos"), 6, "manifest");
  expect_error(parse(no_videos), {"data.videos", "required"});
  expect_error(parse(ok + "latent_foreground_weight: 4\n"), {"latent_foreground_weight", "vae.foreground_weight"});
}

}  // namespace
