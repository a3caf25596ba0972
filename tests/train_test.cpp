// The DiT trainer (src/osp/train: optimizer, EMA, config, checkpoints, loss curve, trainer): AdamW
// against torch::optim::AdamW, clipping and EMA against their formulas, config errors naming the
// field, a 20-step run that lowers the loss, exact resume, and 2-rank data parallelism against one
// rank with the double batch.
#include <gtest/gtest.h>

#include <torch/optim/adamw.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "expect_error.h"
#include "micro_train.h"
#include "run_ranks.h"
#include "scratch_dir.h"
#include "test_util.h"
#include "osp/io/safetensors_writer.h"
#include "osp/train/ema.h"
#include "osp/train/latent_foreground.h"
#include "osp/train/loss_curve.h"
#include "osp/train/optimizer.h"
#include "osp/train/train_config.h"
#include "osp/train/trainer.h"

namespace {

namespace fs = std::filesystem;
using osp::test::kOptimizer;
using osp::test::make_trainer;
using osp::test::micro_config;
using osp::test::rel_error;
using osp::train::TrainConfig;
using osp::train::Trainer;

// ---------------------------------------------------------------------------------------------
// Optimizer, clipping, EMA

TEST(TrainOptimizer, AdamWMatchesTorchAdamW) {
  const at::Tensor init = osp::test::randn({5, 7}, 1);
  at::Tensor mine = init.clone().requires_grad_(true), theirs = init.clone().requires_grad_(true);
  osp::train::AdamWOptions o;
  o.lr = 0.05;
  o.beta1 = 0.8;
  o.beta2 = 0.95;
  o.eps = 1e-6;
  o.weight_decay = 0.1;
  osp::train::AdamW adamw({{"w", mine}}, o);
  torch::optim::AdamW reference({theirs}, torch::optim::AdamWOptions(o.lr).betas({o.beta1, o.beta2}).eps(o.eps).weight_decay(o.weight_decay));
  for (int s = 0; s < 6; ++s) {
    const at::Tensor g = osp::test::randn({5, 7}, 10 + s);
    mine.mutable_grad() = g.clone();
    theirs.mutable_grad() = g.clone();
    adamw.step(o.lr);
    reference.step();
  }
  EXPECT_EQ(adamw.steps(), 6);
  const double err = rel_error(mine.detach(), theirs.detach());
  EXPECT_LE(err, 1e-6) << err;
  EXPECT_GE(rel_error(mine.detach(), init), 1e-2);  // it moved
}

// The schedule against its definition written out per case (docs/training.md "Learning-rate
// schedule"): warm-up, hold, then the decay reaching min_lr exactly at the last step.
TEST(TrainOptimizer, LearningRateScheduleFollowsItsDefinition) {
  using osp::train::LrDecay;
  using osp::train::scheduled_lr;
  osp::train::LrSchedule s;
  s.lr = 1e-3;
  s.warmup_steps = 4;
  s.total_steps = 25;
  EXPECT_DOUBLE_EQ(scheduled_lr(s, 0), 2.5e-4);
  EXPECT_DOUBLE_EQ(scheduled_lr(s, 3), 1e-3);
  EXPECT_DOUBLE_EQ(scheduled_lr(s, 24), 1e-3);  // constant
  s.decay_start = 14;  // decays over steps 14 … 24: progress (step − 14)/10
  s.min_lr = 1e-4;
  s.decay = LrDecay::kLinear;
  EXPECT_DOUBLE_EQ(scheduled_lr(s, 1), 5e-4);  // the warm-up is unchanged
  EXPECT_DOUBLE_EQ(scheduled_lr(s, 14), 1e-3);
  EXPECT_NEAR(scheduled_lr(s, 19), 1e-4 + 9e-4 * 0.5, 1e-15);
  EXPECT_NEAR(scheduled_lr(s, 24), 1e-4, 1e-15);
  EXPECT_NEAR(scheduled_lr(s, 30), 1e-4, 1e-15);  // past the end (a run extended by resuming)
  s.decay = LrDecay::kCosine;
  for (int64_t step = 14; step <= 24; ++step) {
    const long double p = (step - 14) / 10.0L;
    const long double expected = 1e-4L + 9e-4L * 0.5L * (1.0L + std::cos(3.14159265358979323846L * p));
    EXPECT_NEAR(scheduled_lr(s, step), static_cast<double>(expected), 1e-15) << step;
  }
  EXPECT_LT(scheduled_lr(s, 16), scheduled_lr(s, 15));
  s.warmup_steps = 0;
  s.decay_start = 0;
  EXPECT_DOUBLE_EQ(scheduled_lr(s, 0), 1e-3);  // no warm-up: the peak at step 0
}

TEST(TrainOptimizer, Clipping) {
  at::Tensor a = at::zeros({3}).requires_grad_(true), b = at::zeros({2}).requires_grad_(true);
  a.mutable_grad() = at::tensor({3.0f, 0.0f, 4.0f});
  b.mutable_grad() = at::tensor({0.0f, 12.0f});  // norm √(9 + 16 + 144) = 13
  EXPECT_NEAR(osp::train::clip_grad_norm({a, b}, 26.0), 13.0, 1e-9);
  EXPECT_FLOAT_EQ(b.grad()[1].item<float>(), 12.0f);  // under the limit: unchanged
  EXPECT_NEAR(osp::train::clip_grad_norm({a, b}, 1.3), 13.0, 1e-9);
  EXPECT_NEAR(b.grad()[1].item<float>(), 12.0 * 1.3 / (13.0 + 1e-6), 1e-6);
}

TEST(TrainOptimizer, EmaFollowsItsFormula) {
  at::Tensor p = osp::test::randn({4}, 3);
  osp::train::Ema ema({{"p", p}}, 0.9);
  at::Tensor expected = p.clone();
  for (int s = 0; s < 3; ++s) {
    p = p + osp::test::randn({4}, 20 + s);
    ema.update({{"p", p}});
    expected = 0.9 * expected + 0.1 * p;
  }
  EXPECT_LE(rel_error(ema.weights()[0].second, expected), 1e-6);
}

// ---------------------------------------------------------------------------------------------
// Config

TEST(TrainConfig, ParsesEveryField) {
  const TrainConfig c = TrainConfig::from_yaml(micro_config("/tmp/out", "grad_accum: 3\ncheckpoint_every: 4\n"));
  EXPECT_EQ(c.model.dim, 32);
  EXPECT_EQ(c.model.text_len, 8);
  ASSERT_TRUE(c.synthetic.has_value());
  EXPECT_EQ(c.synthetic->channels, 4);
  EXPECT_EQ(c.synthetic->text_dim, 24);
  EXPECT_DOUBLE_EQ(c.optimizer.lr, 2e-3);
  EXPECT_DOUBLE_EQ(c.optimizer.beta2, 0.99);
  EXPECT_EQ(c.warmup_steps, 2);
  EXPECT_EQ(c.grad_accum, 3);
  EXPECT_EQ(c.checkpoint_every, 4);
  EXPECT_EQ(c.precision.name(), "fp32");
  EXPECT_DOUBLE_EQ(c.caption_dropout, 0.2);
  EXPECT_EQ(c.output_dir, "/tmp/out");
}

TEST(TrainConfig, UnknownFieldsAndImpossibleValuesNameTheField) {
  using osp::test::expect_error;
  const auto parse = [](const std::string& text) { return [text] { TrainConfig::from_yaml(text, "run.yaml"); }; };
  expect_error(parse(micro_config("o", "learning_rate: 1\n")), {"run.yaml", "learning_rate", "unknown field"});
  expect_error(parse(micro_config("o", "", "", "optimizer: {lr: 1.0e-4, momentum: 0.9}\n")),
               {"optimizer.momentum", "unknown"});
  {
    std::string text = micro_config("o");
    text.replace(text.find("optimizer: {lr: 2.0e-3"), 22, "optimizer: {lr: -1.0");
    expect_error(parse(text), {"optimizer.lr", "positive", "-1"});
  }
  expect_error(parse(micro_config("o", "", "steps: 5\nbatch_size: 0\n")), {"batch_size", "at least 1", "0"});
  expect_error(parse(micro_config("o", "", "steps: 0\n")), {"steps", "at least 1"});
  expect_error(parse(micro_config("o", "", "steps: 5\ncaption_dropout: 1.5\n")), {"caption_dropout", "[0, 1]"});
  expect_error(parse(micro_config("o", "", "steps: 5\nprecision: fp16\n")), {"precision", "fp16"});
  expect_error(parse(micro_config("o", "", "steps: many\n")), {"steps", "many"});
  {
    std::string text = micro_config("o");
    text.replace(text.find("betas: [0.9, 0.99]"), 18, "betas: [0.9, 1.5]");
    expect_error(parse(text), {"optimizer.betas", "[0, 1)"});
  }
  {
    std::string text = micro_config("o");
    text.replace(text.find("in_dim: 4"), 9, "in_dims: 4");
    expect_error(parse(text), {"model", "in_dims"});
  }
  {
    std::string text = micro_config("o");
    text.replace(text.find("height: 4"), 9, "height: 3");
    expect_error(parse(text), {"data.synthetic.height", "patch size"});
  }
  std::string no_output = micro_config("o");
  no_output.erase(no_output.find("output_dir"));
  expect_error(parse(no_output), {"output_dir", "required"});
  expect_error(parse("model: {preset: wan2.1-t2v-1.3b}\n"), {"data", "required"});
  expect_error([] { TrainConfig::from_file("/nonexistent/run.yaml"); }, {"/nonexistent/run.yaml"});
  expect_error(parse(micro_config("o", "latent_foreground_weight: 0\n")), {"latent_foreground_weight", "> 0"});
  expect_error(parse(micro_config("o", "latent_foreground_distance: -1\n")), {"latent_foreground_distance", "> 0"});
  const std::string decaying = "optimizer: {lr: 2.0e-3, warmup_steps: 2, decay: cosine, decay_start: 10, min_lr: 1.0e-4}\n";
  const TrainConfig cosine = TrainConfig::from_yaml(micro_config("o", "", "", decaying));
  EXPECT_EQ(cosine.lr_schedule().decay, osp::train::LrDecay::kCosine);
  EXPECT_EQ(cosine.lr_schedule().decay_start, 10);
  EXPECT_EQ(cosine.lr_schedule().total_steps, 20);
  EXPECT_DOUBLE_EQ(cosine.lr_schedule().min_lr, 1e-4);
  EXPECT_EQ(TrainConfig::from_yaml(micro_config("o", "", "", "optimizer: {lr: 2.0e-3, decay: linear}\n")).decay_start, 0);
  expect_error(parse(micro_config("o", "", "", "optimizer: {lr: 1.0e-3, decay: step}\n")), {"optimizer.decay", "cosine", "step"});
  expect_error(parse(micro_config("o", "", "", "optimizer: {lr: 1.0e-3, decay: linear, decay_start: 19}\n")),
               {"optimizer.decay_start", "19"});
  expect_error(parse(micro_config("o", "", "", "optimizer: {lr: 1.0e-3, warmup_steps: 5, decay: linear, decay_start: 2}\n")),
               {"optimizer.decay_start", "[5, 19)"});
  expect_error(parse(micro_config("o", "", "", "optimizer: {lr: 1.0e-3, decay: cosine, min_lr: 2.0e-3}\n")),
               {"optimizer.min_lr", "[0, lr"});
  expect_error(parse(micro_config("o", "", "", "optimizer: {lr: 1.0e-3, min_lr: 1.0e-4}\n")), {"optimizer.min_lr", "constant"});
  const TrainConfig weighted = TrainConfig::from_yaml(micro_config("o", "latent_foreground_weight: 8\n"));
  EXPECT_DOUBLE_EQ(weighted.latent_foreground_weight, 8.0);
  EXPECT_DOUBLE_EQ(weighted.latent_foreground_distance, 1.5);
}

// ---------------------------------------------------------------------------------------------
// Object-weighted flow matching (latent_foreground.h)

// Latents [1, 4, 2, 8, 8]: per frame a flat value per channel with a little noise, and a 2×2
// object offset by 2 in every channel (distance 4) at a place that moves with the frame; `truth`
// gets the object's pixels.
at::Tensor object_latents(at::Tensor* truth) {
  at::Tensor x = osp::test::randn({1, 4, 2, 8, 8}, 31, 0.05);
  *truth = at::zeros({1, 1, 2, 8, 8});
  const at::Tensor level = osp::test::randn({4, 2}, 32);
  for (int64_t t = 0; t < 2; ++t) {
    for (int64_t c = 0; c < 4; ++c) x[0][c][t].add_(level[c][t].item<double>());
    x[0].select(1, t).narrow(1, 3, 2).narrow(2, 3 * t, 2).add_(2.0);
    (*truth)[0][0][t].narrow(0, 3, 2).narrow(1, 3 * t, 2).fill_(1);
  }
  return x;
}

TEST(LatentForeground, MaskIsTheObjectGrownByOnePixel) {
  at::Tensor truth;
  const at::Tensor x = object_latents(&truth);
  const at::Tensor mask = osp::train::latent_foreground_mask(x, 1.5);
  // Explicit growth: a pixel is in when any pixel of its 3×3 neighbourhood (same frame) is object.
  at::Tensor grown = at::zeros_like(truth);
  for (int64_t t = 0; t < 2; ++t) {
    for (int64_t y = 0; y < 8; ++y) {
      for (int64_t xx = 0; xx < 8; ++xx) {
        for (int64_t dy = -1; dy <= 1; ++dy) {
          for (int64_t dx = -1; dx <= 1; ++dx) {
            const int64_t yy = y + dy, xs = xx + dx;
            if (yy >= 0 && yy < 8 && xs >= 0 && xs < 8 && truth[0][0][t][yy][xs].item<float>() > 0) {
              grown[0][0][t][y][xx] = 1;
            }
          }
        }
      }
    }
  }
  EXPECT_TRUE(at::equal(mask, grown));
  EXPECT_EQ(mask.sum().item<float>(), 4 * 4 + 3 * 4);  // the second frame's object touches the border
  EXPECT_EQ(osp::train::latent_foreground_mask(x, 4.5).sum().item<float>(), 0.f);  // farther than the object
}

TEST(LatentForeground, WeightedSquaresMatchAnExplicitSum) {
  at::Tensor truth;
  const at::Tensor x0 = object_latents(&truth);
  const at::Tensor diff = osp::test::randn({1, 4, 2, 8, 8}, 33);
  const at::Tensor mask = osp::train::latent_foreground_mask(x0, 1.5).to(at::kDouble).contiguous();
  const at::Tensor d = diff.to(at::kDouble).contiguous();
  const double weight = 6.0;
  double num = 0, den = 0;
  for (int64_t c = 0; c < 4; ++c) {
    for (int64_t i = 0; i < 2 * 64; ++i) {
      const double w = mask.data_ptr<double>()[i] > 0 ? weight : 1.0;
      num += w * d.data_ptr<double>()[c * 128 + i] * d.data_ptr<double>()[c * 128 + i];
      den += w;
    }
  }
  const auto weighted = osp::train::weighted_squares(diff, x0, weight, 1.5);
  EXPECT_NEAR(weighted.sum.item<double>(), num, 1e-5 * num);
  EXPECT_DOUBLE_EQ(weighted.weight, den);
  const auto plain = osp::train::weighted_squares(diff, x0, 1.0, 1.5);
  EXPECT_NEAR(plain.sum.item<double>() / plain.weight, diff.pow(2).mean().item<double>(), 1e-6);
  EXPECT_GT(std::abs(num / den - plain.sum.item<double>() / plain.weight), 1e-2);  // the weights change the loss
}

// ---------------------------------------------------------------------------------------------
// Training runs

double mean_loss(const std::vector<osp::train::StepStats>& stats, size_t begin, size_t end) {
  double sum = 0;
  for (size_t i = begin; i < end; ++i) sum += stats[i].loss;
  return sum / static_cast<double>(end - begin);
}

TEST(TrainLoop, TwentyStepsLowerTheLoss) {
  const osp::test::ScratchDir dir;
  Trainer trainer = make_trainer(micro_config(
      dir.path().string(), "", "",
      "optimizer: {lr: 1.0e-2, betas: [0.9, 0.99], weight_decay: 0.01, warmup_steps: 2, grad_clip: 1.0}\n"));
  const auto stats = trainer.run();
  ASSERT_EQ(stats.size(), 20u);
  const double first = mean_loss(stats, 0, 5), last = mean_loss(stats, 15, 20);
  std::printf("[ train    ] 20 steps: mean loss of steps 1-5 %.4f, of steps 16-20 %.4f\n", first, last);
  EXPECT_LT(last, 0.8 * first);
  for (const auto& s : stats) {
    EXPECT_TRUE(std::isfinite(s.loss) && std::isfinite(s.grad_norm));
    EXPECT_GT(s.samples_per_s, 0);
  }
  EXPECT_DOUBLE_EQ(stats[0].lr, 5e-3);  // warm-up: step 1 of 2
  EXPECT_DOUBLE_EQ(stats[5].lr, 1e-2);
  // Logs and the final checkpoint.
  std::ifstream csv(dir / "train_log.csv");
  std::string line;
  int rows = -1;
  while (std::getline(csv, line)) ++rows;
  EXPECT_EQ(rows, 20);
  std::ifstream svg(dir / "loss_curve.svg");
  std::stringstream svg_text;
  svg_text << svg.rdbuf();
  EXPECT_NE(svg_text.str().find("<polyline"), std::string::npos);
  for (const char* file : {"model.safetensors", "ema.safetensors", "optimizer.safetensors", "config.json", "state.json"}) {
    EXPECT_TRUE(fs::exists(dir.path() / "checkpoints" / "step-00000020" / file)) << file;
  }
}

TEST(TrainLoop, ResumeContinuesExactly) {
  const osp::test::ScratchDir dir;
  const std::string run = "steps: 6\nbatch_size: 2\ngrad_accum: 2\nprecision: fp32\ncaption_dropout: 0.5\n"
                          "ema_decay: 0.8\nseed: 9\ncheckpoint_every: 3\n";
  const std::string yaml = micro_config((dir.path() / "a").string(), "", run);
  Trainer whole = make_trainer(yaml);
  const auto uninterrupted = whole.run();
  ASSERT_EQ(uninterrupted.size(), 6u);

  Trainer resumed = make_trainer(micro_config((dir.path() / "b").string(), "", run));
  resumed.resume((dir.path() / "a" / "checkpoints" / "step-00000003").string());
  EXPECT_EQ(resumed.steps_done(), 3);
  const auto continued = resumed.run();
  ASSERT_EQ(continued.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(continued[i].step, uninterrupted[3 + i].step);
    EXPECT_EQ(continued[i].loss, uninterrupted[3 + i].loss) << "step " << continued[i].step;
    EXPECT_EQ(continued[i].grad_norm, uninterrupted[3 + i].grad_norm);
  }
  const auto a = whole.model().named_parameters(), b = resumed.model().named_parameters();
  for (const auto& item : a) EXPECT_TRUE(at::equal(item.value(), b[item.key()])) << item.key();
  EXPECT_TRUE(at::equal(whole.ema().weights()[5].second, resumed.ema().weights()[5].second));
  // --resume also takes the output folder (newest checkpoint) and rejects another model.
  Trainer latest = make_trainer(micro_config((dir.path() / "c").string(), "", run));
  latest.resume((dir.path() / "a").string());
  EXPECT_EQ(latest.steps_done(), 6);
  std::string other = micro_config((dir.path() / "d").string(), "", run);
  other.replace(other.find("num_layers: 2"), 13, "num_layers: 1");
  Trainer mismatch = make_trainer(other);
  osp::test::expect_error([&] { mismatch.resume((dir.path() / "a").string()); }, {"model config differs"});
}

TEST(TrainLoop, BfloatRunTrainsFloatMasterWeights) {
  const osp::test::ScratchDir dir;
  Trainer trainer = make_trainer(micro_config(dir.path().string(), "", "steps: 3\nbatch_size: 2\nprecision: bf16\n"));
  for (const auto& p : trainer.model().parameters()) EXPECT_EQ(p.scalar_type(), at::kFloat);
  const auto stats = trainer.run();
  ASSERT_EQ(stats.size(), 3u);
  EXPECT_TRUE(std::isfinite(stats.back().loss));
}

TEST(TrainDataParallel, TwoRanksEqualOneRankWithDoubleBatch) {
  const osp::test::ScratchDir dir;
  const auto run = [](int64_t batch) {
    return "steps: 3\nbatch_size: " + std::to_string(batch) + "\nprecision: fp32\ncaption_dropout: 0.3\nseed: 2\n";
  };
  // eps 1e-4: Adam divides by √v + eps, which turns gradient components at rounding level (where
  // the two summation orders differ) into full-size steps with eps 1e-8.
  const std::string optimizer = "optimizer: {lr: 2.0e-3, eps: 1.0e-4, warmup_steps: 2}\n";
  Trainer single = make_trainer(micro_config((dir.path() / "one").string(), "", run(4), optimizer));
  std::vector<osp::train::StepStats> expected;
  for (int s = 0; s < 3; ++s) expected.push_back(single.step());

  std::vector<std::vector<osp::train::StepStats>> got(2);
  std::vector<std::map<std::string, at::Tensor>> weights(2);
  osp::test::run_ranks(2, [&](osp::parallel::World& world) {
    const int r = world.rank();
    Trainer trainer = make_trainer(
        micro_config((dir.path() / ("two" + std::to_string(r))).string(), "", run(2), optimizer), world.global());
    for (int s = 0; s < 3; ++s) got[r].push_back(trainer.step());
    for (const auto& item : trainer.model().named_parameters()) weights[r][item.key()] = item.value().detach().clone();
  });
  double worst_loss = 0, worst_weight = 0;
  for (int s = 0; s < 3; ++s) {
    for (int r = 0; r < 2; ++r) EXPECT_EQ(got[r][s].loss, got[0][s].loss);  // every rank reports the mean
    worst_loss = std::max(worst_loss, std::abs(got[0][s].loss - expected[s].loss) / expected[s].loss);
  }
  for (const auto& item : single.model().named_parameters()) {
    EXPECT_TRUE(at::equal(weights[0][item.key()], weights[1][item.key()])) << item.key();
    worst_weight = std::max(worst_weight, rel_error(weights[0][item.key()], item.value().detach()));
  }
  std::printf("[ train    ] 2 ranks x batch 2 vs 1 rank x batch 4: loss %.3g, weights %.3g relative\n", worst_loss,
              worst_weight);
  EXPECT_LE(worst_loss, 1e-5);
  EXPECT_LE(worst_weight, 1e-5);
}

TEST(TrainLoop, ObjectWeightingReachesTheLoss) {
  // Same draws, same initial weights: the first step's loss differs only by the weighting.
  const auto first_loss = [](const std::string& extra) {
    const osp::test::ScratchDir dir;
    Trainer trainer = make_trainer(micro_config(dir.path().string(), extra, "steps: 1\nbatch_size: 2\nprecision: fp32\n"));
    return trainer.run().at(0).loss;
  };
  const double plain = first_loss(""), weighted = first_loss("latent_foreground_weight: 8\n");
  EXPECT_TRUE(std::isfinite(weighted));
  EXPECT_GT(std::abs(weighted - plain), 1e-4 * plain) << plain << " vs " << weighted;
}

TEST(TrainLoop, ReadsACachedManifest) {
  const osp::test::ScratchDir dir;
  std::ofstream manifest(dir / "manifest.jsonl");
  for (int i = 0; i < 3; ++i) {
    const std::string file = "s" + std::to_string(i) + ".safetensors";
    osp::io::write_safetensors(dir / file, {{"latents", osp::test::randn({4, 2, 4, 4}, 40 + i)},
                                            {"context", osp::test::randn({3 + i, 24}, 50 + i)}});
    manifest << "{\"latents\": \"" << file << "\", \"context\": \"" << file << "\"}\n";
  }
  manifest.close();
  osp::io::write_safetensors(dir / "null_context.safetensors", {{"context", osp::test::randn({2, 24}, 60)}});
  std::string yaml = micro_config((dir.path() / "out").string(), "", "steps: 2\nbatch_size: 2\nprecision: fp32\n");
  const size_t begin = yaml.find("  synthetic:");
  yaml.replace(begin, yaml.find('\n', begin) - begin, "  manifest: " + (dir / "manifest.jsonl"));
  Trainer trainer = make_trainer(yaml);
  const auto stats = trainer.run();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_TRUE(std::isfinite(stats[1].loss));
  std::ofstream(dir / "video.jsonl") << "{\"video\": \"a.mp4\", \"caption\": \"x\"}\n";
  yaml.replace(yaml.find("manifest.jsonl"), 14, "video.jsonl");
  osp::test::expect_error([&] { make_trainer(yaml); }, {"video.jsonl", "not a cached manifest"});
}

TEST(TrainLossCurve, WritesAnSvgWithTheSeries) {
  std::vector<osp::train::LossPoint> points;
  for (int s = 1; s <= 50; ++s) points.push_back({s, 1.0 / s});
  const std::string svg = osp::train::loss_curve_svg(points, "a <test> & curve");
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("a &lt;test&gt; &amp; curve"), std::string::npos);
  EXPECT_EQ(std::count(svg.begin(), svg.end(), '\n') > 10, true);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_NE(osp::train::loss_curve_svg({}, "empty").find("no finite losses"), std::string::npos);
}

}  // namespace
