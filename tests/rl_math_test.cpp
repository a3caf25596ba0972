// The numerical pieces of GRPO training (docs/rl.md): group advantages, filtering and re-admission,
// the k-repeat prompt sampler, the clipped policy loss with its KL term and diagnostics, and
// adaptive gradient clipping — against hand-computed cases.
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "expect_error.h"
#include "osp/core/error.h"
#include "osp/rl/adaptive_clip.h"
#include "osp/rl/advantages.h"
#include "osp/rl/policy_loss.h"
#include "osp/rl/prompt_sampler.h"
#include "test_util.h"

namespace osp::rl {
namespace {

using osp::test::expect_error;
using osp::test::randn;

at::Tensor vec(const std::vector<double>& values) { return at::tensor(values, at::kDouble).to(at::kFloat); }

// ---------------------------------------------------------------- advantages

// Two prompts × 4 rewards, interleaved as ranks and batches gather them: "a" gets 1, 2, 3, 4 and
// "b" always 0.5.
const std::vector<std::string> kPrompts = {"a", "b", "a", "b", "a", "b", "a", "b"};
const std::vector<double> kRewards = {1.0, 0.5, 2.0, 0.5, 3.0, 0.5, 4.0, 0.5};

TEST(RlAdvantages, PerPromptGroupsUsePopulationStd) {
  const std::vector<double> a = group_advantages(kRewards, kPrompts);
  // "a": mean 2.5, population variance (2.25 + 0.25 + 0.25 + 2.25)/4 = 1.25.
  const double std_a = std::sqrt(1.25);
  const std::vector<double> a_rewards = {1.0, 2.0, 3.0, 4.0};
  for (size_t k = 0; k < 4; ++k) {
    EXPECT_NEAR(a[2 * k], (a_rewards[k] - 2.5) / (std_a + 1e-4), 1e-12) << k;
    EXPECT_EQ(a[2 * k + 1], 0.0) << k;  // "b": all rewards equal → exactly zero
  }
}

TEST(RlAdvantages, GlobalStdAndTheBatchWideFallback) {
  // All 8 rewards: mean 12/8 = 1.5; squared deviations 0.25 + 0.25 + 2.25 + 6.25 + 4·1 = 13 → var 13/8.
  const double std_all = std::sqrt(13.0 / 8.0);
  AdvantageOptions global;
  global.global_std = true;
  const std::vector<double> g = group_advantages(kRewards, kPrompts, global);
  EXPECT_NEAR(g[0], (1.0 - 2.5) / (std_all + 1e-4), 1e-12);  // the prompt's mean, the global std
  EXPECT_NEAR(g[6], (4.0 - 2.5) / (std_all + 1e-4), 1e-12);
  EXPECT_EQ(g[1], 0.0);

  // One video per prompt: the whole batch is one group, prompts are ignored.
  AdvantageOptions single;
  single.group_size = 1;
  const std::vector<double> b = group_advantages(kRewards, kPrompts, single);
  for (size_t i = 0; i < kRewards.size(); ++i) EXPECT_NEAR(b[i], (kRewards[i] - 1.5) / (std_all + 1e-4), 1e-12) << i;
  single.sample_time_per_prompt = 2;  // 1 × 2 > 1: groups again
  EXPECT_EQ(group_advantages(kRewards, kPrompts, single)[1], 0.0);
}

TEST(RlAdvantages, EqualRewardsGiveExactZerosForAnyGroupSize) {
  // (0.1 + 0.1 + 0.1)/3 = 0.10000000000000002 in float64: a plain mean would leave ±1e-13 advantages.
  const std::vector<double> a = group_advantages({0.1, 0.1, 0.1, 0.7, 0.2, 0.3}, {"p", "p", "p", "q", "q", "q"});
  EXPECT_EQ(a[0], 0.0);
  EXPECT_EQ(a[1], 0.0);
  EXPECT_EQ(a[2], 0.0);
  EXPECT_GT(a[3], 0.0);
}

TEST(RlAdvantages, BadInputsAreErrors) {
  expect_error([] { group_advantages({1.0, 2.0}, {"a"}); }, {"2 rewards", "1 prompts"});
  expect_error([] { group_advantages({}, {}); }, {"no rewards"});
  expect_error([] { group_advantages({1.0, NAN}, {"a", "b"}); }, {"not finite", "\"b\""});
  AdvantageOptions zero;
  zero.group_size = 0;
  expect_error([&] { group_advantages({1.0}, {"a"}, zero); }, {"num_image_per_prompt"});
}

TEST(RlAdvantages, EachRankTakesItsRow) {
  const std::vector<double> all = {1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(rank_advantages(all, 2, 1), (std::vector<double>{5, 6, 7, 8}));
  EXPECT_EQ(rank_advantages(all, 4, 0), (std::vector<double>{1, 2}));
  expect_error([&] { rank_advantages(all, 3, 0); }, {"8 samples", "3 ranks"});
  expect_error([&] { rank_advantages(all, 2, 2); }, {"rank 2"});
}

// ---------------------------------------------------------------- filtering

TEST(RlFilter, KeepsNonZeroAndReadmitsUpToAMultipleOfQ) {
  // c = 3 non-zero, Q = 4: one of the five zero-advantage samples (1, 3, 4, 6, 7) comes back.
  const std::vector<double> adv = {0.5, 0.0, -0.5, 0.0, 0.0, 1.0, 0.0, 0.0};
  at::Generator g = at::detail::createCPUGenerator(7);
  const FilteredAdvantages f = filter_advantages(adv, 4, g);
  ASSERT_EQ(f.kept.size(), 4u);
  ASSERT_EQ(f.advantages.size(), 4u);
  EXPECT_TRUE(std::is_sorted(f.kept.begin(), f.kept.end()));
  int64_t readmitted = -1;
  for (size_t j = 0; j < f.kept.size(); ++j) {
    EXPECT_EQ(f.advantages[j], adv[static_cast<size_t>(f.kept[j])]);
    if (adv[static_cast<size_t>(f.kept[j])] == 0.0) readmitted = f.kept[j];
  }
  const std::vector<int64_t> zeros = {1, 3, 4, 6, 7};
  EXPECT_NE(std::find(zeros.begin(), zeros.end(), readmitted), zeros.end());
  // The choice is the first entry of a permutation of the zero-advantage samples drawn from the generator.
  at::Generator same = at::detail::createCPUGenerator(7);
  EXPECT_EQ(readmitted, zeros[static_cast<size_t>(at::randperm(5, same, at::kLong)[0].item<int64_t>())]);
  // Deterministic for a seed.
  at::Generator again = at::detail::createCPUGenerator(7);
  EXPECT_EQ(filter_advantages(adv, 4, again).kept, f.kept);
}

TEST(RlFilter, MultiplesOfQAndTooFewZerosReadmitNothing) {
  at::Generator g = at::detail::createCPUGenerator(1);
  // c = 4 = Q: exactly the non-zero samples.
  EXPECT_EQ(filter_advantages({1.0, 0.0, -1.0, 2.0, 0.0, -2.0}, 4, g).kept, (std::vector<int64_t>{0, 2, 3, 5}));
  // c = 2, Q = 4 needs 2 more, but only one zero exists: none is re-admitted.
  EXPECT_EQ(filter_advantages({1.0, 2.0, 0.0}, 4, g).kept, (std::vector<int64_t>{0, 1}));
  // c = 3, Q = 4 needs exactly the one zero there is.
  EXPECT_EQ(filter_advantages({1.0, 0.0, 2.0, 3.0}, 4, g).kept, (std::vector<int64_t>{0, 1, 2, 3}));
  // c = 5, Q = 2: one of the three zeros.
  EXPECT_EQ(filter_advantages({1.0, 2.0, 3.0, 4.0, 5.0, 0.0, 0.0, 0.0}, 2, g).kept.size(), 6u);
  expect_error([&] { filter_advantages({1.0}, 0, g); }, {"quantum"});
}

TEST(RlFilter, AllZeroKeepsEverythingWithATinyAdvantage) {
  at::Generator g = at::detail::createCPUGenerator(3);
  const FilteredAdvantages f = filter_advantages({0.0, 0.0, 0.0}, 4, g);
  EXPECT_EQ(f.kept, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(f.advantages, (std::vector<double>{1e-6, 1e-6, 1e-6}));
}

// ---------------------------------------------------------------- prompt sampler

TEST(RlPromptSampler, SlicesTogetherAreMPromptsEachRepeatedK) {
  PromptSamplerOptions o;
  o.ranks = 4;
  o.batch_size = 6;
  o.repeats = 4;  // m = 4·6/4 = 6 prompts
  o.seed = 42;
  std::vector<int64_t> joined;
  for (int64_t rank = 0; rank < o.ranks; ++rank) {
    const std::vector<int64_t> slice = k_repeat_batch(50, o, 3, rank);
    ASSERT_EQ(static_cast<int64_t>(slice.size()), o.batch_size);
    joined.insert(joined.end(), slice.begin(), slice.end());
  }
  EXPECT_EQ(joined, k_repeat_indices(50, o, 3));
  std::map<int64_t, int> counts;
  for (int64_t index : joined) {
    EXPECT_GE(index, 0);
    EXPECT_LT(index, 50);
    counts[index] += 1;
  }
  EXPECT_EQ(counts.size(), 6u);
  for (const auto& [index, count] : counts) EXPECT_EQ(count, 4) << index;
}

TEST(RlPromptSampler, DeterministicPerSeedPlusEpoch) {
  PromptSamplerOptions o;
  o.ranks = 8;
  o.batch_size = 4;
  o.repeats = 4;
  o.seed = 1024;
  const std::vector<int64_t> first = k_repeat_indices(1000, o, 5);
  EXPECT_EQ(first, k_repeat_indices(1000, o, 5));
  EXPECT_NE(first, k_repeat_indices(1000, o, 6));
  // The generator is seeded with seed + sampler_epoch, so (1024, 5) and (1025, 4) agree.
  PromptSamplerOptions next_seed = o;
  next_seed.seed = 1025;
  EXPECT_EQ(first, k_repeat_indices(1000, next_seed, 4));
  EXPECT_EQ(sampler_epoch(2, 4, 1), 9);
}

TEST(RlPromptSampler, BadSizesAreErrors) {
  PromptSamplerOptions o;
  o.ranks = 3;
  o.batch_size = 2;
  o.repeats = 4;  // 3·2 = 6 is not a multiple of 4
  expect_error([&] { k_repeat_indices(100, o, 0); }, {"num_image_per_prompt", "4", "6"});
  o.ranks = 4;  // m = 2 distinct prompts from a file of 1
  expect_error([&] { k_repeat_indices(1, o, 0); }, {"prompt file", "1 prompts", "2 distinct"});
  expect_error([&] { k_repeat_batch(100, o, 0, 4); }, {"rank 4"});
}

// ---------------------------------------------------------------- policy loss

TEST(RlPolicyLoss, UnchangedPolicyHasRatioOneAndLossMinusMeanClippedAdvantage) {
  const at::Tensor old_log_prob = randn({4}, 5);
  const at::Tensor log_prob = old_log_prob.clone().requires_grad_(true);
  PolicyLossInputs in;
  in.log_prob = log_prob;
  in.old_log_prob = old_log_prob;
  in.advantages = vec({3.0, -7.0, 0.5, 6.0});  // clamped to 3, −5, 0.5, 5
  PolicyLossOptions o;
  const PolicyLossTerms t = policy_loss(in, o);
  EXPECT_EQ(t.mean_ratio.item<float>(), 1.0f);
  EXPECT_EQ(t.clipfrac.item<float>(), 0.0f);
  EXPECT_EQ(t.approx_kl.item<float>(), 0.0f);
  EXPECT_NEAR(t.policy_loss.item<double>(), -(3.0 - 5.0 + 0.5 + 5.0) / 4.0, 1e-7);
  EXPECT_TRUE(at::equal(t.loss, t.policy_loss));
  EXPECT_EQ(t.kl_loss.item<float>(), 0.0f);
  // At ρ = 1 both branches agree and dL/dlogp = −A_c/B.
  t.loss.backward();
  EXPECT_LT((log_prob.grad() - vec({-0.75, 1.25, -0.125, -1.25})).abs().max().item<double>(), 1e-7);
}

TEST(RlPolicyLoss, ClippingHandCases) {
  // ε = 0.1; ρ = 1.5 or 0.5.
  //   A = +1, ρ = 1.5: max(−1.5, −1.1) = −1.1, clipped (no gradient)
  //   A = −1, ρ = 0.5: max(0.5, 0.9) = 0.9, clipped (no gradient)
  //   A = +1, ρ = 0.5: max(−0.5, −0.9) = −0.5, unclipped: dL/dlogp = −A·ρ/B = −0.5/4
  //   A = −1, ρ = 1.5: max(1.5, 1.1) = 1.5, unclipped: dL/dlogp = −A·ρ/B = 1.5/4
  const std::vector<double> ratios = {1.5, 0.5, 0.5, 1.5};
  std::vector<double> log_ratios;
  for (double r : ratios) log_ratios.push_back(std::log(r));
  const at::Tensor old_log_prob = vec({-1.0, 2.0, 0.25, -3.0});
  const at::Tensor log_prob = (old_log_prob + vec(log_ratios)).detach().requires_grad_(true);
  PolicyLossInputs in;
  in.log_prob = log_prob;
  in.old_log_prob = old_log_prob;
  in.advantages = vec({1.0, -1.0, 1.0, -1.0});
  PolicyLossOptions o;
  o.clip_range = 0.1;
  const PolicyLossTerms t = policy_loss(in, o);
  EXPECT_NEAR(t.policy_loss.item<double>(), (-1.1 + 0.9 - 0.5 + 1.5) / 4.0, 1e-6);
  EXPECT_EQ(t.clipfrac.item<float>(), 1.0f);
  EXPECT_NEAR(t.mean_ratio.item<double>(), 1.0, 1e-6);
  const double l15 = std::log(1.5), l05 = std::log(0.5);
  EXPECT_NEAR(t.approx_kl.item<double>(), 0.5 * (2 * l15 * l15 + 2 * l05 * l05) / 4.0, 1e-6);
  t.loss.backward();
  EXPECT_LT((log_prob.grad() - vec({0.0, 0.0, -0.125, 0.375})).abs().max().item<double>(), 1e-6);

  // Inside the range nothing is clipped: ρ = 1.05 with ε = 0.1.
  in.log_prob = old_log_prob + std::log(1.05);
  const PolicyLossTerms inside = policy_loss(in, o);
  EXPECT_EQ(inside.clipfrac.item<float>(), 0.0f);
  EXPECT_NEAR(inside.policy_loss.item<double>(), 0.0, 1e-6);  // −(1 − 1 + 1 − 1)·1.05/4
}

TEST(RlPolicyLoss, KlTermMatchesTheDirectFormula) {
  // Per sample mean((μθ − μref)²): (0 + 1 + 4)/3 = 5/3 and (0 + 0 + 4)/3 = 4/3; over 2·0.5² = 0.5:
  // 10/3 and 8/3, mean 3.
  const at::Tensor mean = vec({1, 2, 3, 0, 0, 0}).reshape({2, 3}).clone().requires_grad_(true);
  const at::Tensor ref_mean = vec({1, 1, 1, 0, 0, 2}).reshape({2, 3});
  EXPECT_NEAR(kl_penalty(mean, ref_mean, 0.5).item<double>(), 3.0, 1e-6);
  EXPECT_EQ(kl_penalty(mean, mean.detach(), 0.5).item<float>(), 0.0f);

  PolicyLossInputs in;
  in.old_log_prob = vec({0.0, 0.0});
  in.log_prob = in.old_log_prob.clone();
  in.advantages = vec({1.0, 3.0});
  in.mean = mean;
  in.ref_mean = ref_mean;
  in.noise_scale = 0.5;
  PolicyLossOptions o;
  o.kl_beta = 0.1;
  const PolicyLossTerms t = policy_loss(in, o);
  EXPECT_NEAR(t.kl_loss.item<double>(), 3.0, 1e-6);
  EXPECT_NEAR(t.loss.item<double>(), -2.0 + 0.1 * 3.0, 1e-6);  // L_pol = −mean(1, 3)
  t.loss.backward();
  // dL/dμθ = β·(μθ − μref)/(B·M·s²) = 0.1·diff/(2·3·0.25).
  const at::Tensor expected = vec({0, 1, 2, 0, 0, -2}).reshape({2, 3}) * (0.1 / 1.5);
  EXPECT_LT((mean.grad() - expected).abs().max().item<double>(), 1e-7);
}

TEST(RlPolicyLoss, BadInputsAreErrors) {
  PolicyLossInputs in;
  in.log_prob = vec({0.0, 0.0});
  in.old_log_prob = vec({0.0, 0.0, 0.0});
  in.advantages = vec({1.0, 1.0});
  expect_error([&] { policy_loss(in, {}); }, {"old_log_prob", "[3]"});
  in.old_log_prob = vec({0.0, 0.0});
  PolicyLossOptions o;
  o.kl_beta = 0.1;  // needs the means
  expect_error([&] { policy_loss(in, o); }, {"KL penalty"});
  in.mean = at::zeros({2, 3});
  in.ref_mean = at::zeros({2, 4});
  in.noise_scale = 0.5;
  expect_error([&] { policy_loss(in, o); }, {"[2, 3]", "[2, 4]"});
  o.clip_range = -1.0;
  expect_error([&] { policy_loss(in, o); }, {"clip_range"});
}

// ---------------------------------------------------------------- adaptive clipping

TEST(RlAdaptiveClip, FourCallSequenceWithAClip) {
  AdaptiveGradClipper clipper(1.0, 0.99);
  EXPECT_FALSE(clipper.state().initialized);

  // 1: g = 0.2. avg = min(1, 3·0.2) = 0.6, var = 0, M = 0.6; 0.2 ≤ 0.6 → update:
  //    avg = 0.99·0.6 + 0.01·0.2 = 0.596; var = 0.01·(0.596 − 0.2)² = 0.00156816.
  ClipResult r = clipper.observe(0.2);
  EXPECT_NEAR(r.max_norm, 0.6, 1e-15);
  EXPECT_FALSE(r.clipped);
  EXPECT_EQ(r.scale, 1.0);
  EXPECT_NEAR(clipper.state().avg, 0.596, 1e-15);
  EXPECT_NEAR(clipper.state().var, 0.00156816, 1e-15);

  // 2: g = 0.5. M = 0.596 + 3·√0.00156816 = 0.596 + 3·0.0396 = 0.7148; update:
  //    avg = 0.99·0.596 + 0.005 = 0.59504; var = 0.99·0.00156816 + 0.01·(0.09504)² = 0.001642804416.
  r = clipper.observe(0.5);
  EXPECT_NEAR(r.max_norm, 0.7148, 1e-14);
  EXPECT_FALSE(r.clipped);
  EXPECT_NEAR(clipper.state().avg, 0.59504, 1e-15);
  EXPECT_NEAR(clipper.state().var, 0.001642804416, 1e-15);

  // 3: g = 2. M = 0.59504 + 3·√0.001642804416 = 0.59504 + 3·0.0405315237 = 0.7166345712 < 2:
  //    clipped by M/(2 + 1e-6); avg and var unchanged.
  r = clipper.observe(2.0);
  const double m3 = 0.59504 + 3.0 * 0.04053152373154;
  EXPECT_NEAR(r.max_norm, m3, 1e-12);
  EXPECT_TRUE(r.clipped);
  EXPECT_NEAR(r.scale, m3 / (2.0 + 1e-6), 1e-12);
  EXPECT_NEAR(clipper.state().avg, 0.59504, 1e-15);
  EXPECT_NEAR(clipper.state().var, 0.001642804416, 1e-15);

  // 4: g = 0.3. M as in 3; update: avg = 0.99·0.59504 + 0.003 = 0.5920896;
  //    var = 0.99·0.001642804416 + 0.01·(0.2920896)² = 0.00162637637184 + 0.00085316334428 = 0.00247953971612.
  r = clipper.observe(0.3);
  EXPECT_NEAR(r.max_norm, m3, 1e-12);
  EXPECT_FALSE(r.clipped);
  EXPECT_NEAR(clipper.state().avg, 0.5920896, 1e-15);
  EXPECT_NEAR(clipper.state().var, 0.0024795397161216, 1e-14);
  EXPECT_NEAR(clipper.state().max_norm, m3, 1e-12);
}

TEST(RlAdaptiveClip, ClipsGradientTensorsByTheGlobalNorm) {
  EXPECT_DOUBLE_EQ(global_norm({vec({3.0, 4.0}), at::Tensor(), vec({12.0})}), 13.0);
  // First call with g = 5 > init limit 1: avg = min(1, 15) = 1 = M, so 5 is clipped to ≈ 1.
  AdaptiveGradClipper clipper(1.0);
  const at::Tensor a = vec({3.0}), b = vec({4.0});
  const ClipResult r = clipper.clip({a, b});
  EXPECT_TRUE(r.clipped);
  EXPECT_DOUBLE_EQ(r.norm, 5.0);
  EXPECT_NEAR(a.item<double>(), 3.0 / (5.0 + 1e-6), 1e-7);
  EXPECT_NEAR(b.item<double>(), 4.0 / (5.0 + 1e-6), 1e-7);
  EXPECT_EQ(clipper.state().avg, 1.0);  // the clipped norm did not enter the statistics
  EXPECT_EQ(clipper.state().var, 0.0);
  expect_error([&] { clipper.observe(NAN); }, {"not finite"});
}

TEST(RlAdaptiveClip, StateRoundTripsThroughJson) {
  AdaptiveGradClipper clipper(1.0);
  const nlohmann::json fresh = clipper.state().to_json();
  EXPECT_TRUE(fresh.at("avg").is_null());  // −∞ before the first call
  EXPECT_FALSE(AdaptiveClipState::from_json(fresh).initialized);

  clipper.observe(0.2);
  clipper.observe(0.5);
  const nlohmann::json saved = nlohmann::json::parse(clipper.state().to_json().dump());
  AdaptiveGradClipper resumed(1.0);
  resumed.load_state(AdaptiveClipState::from_json(saved));
  EXPECT_EQ(resumed.state().avg, clipper.state().avg);
  EXPECT_EQ(resumed.state().var, clipper.state().var);
  EXPECT_EQ(resumed.state().max_norm, clipper.state().max_norm);
  // Both continue identically.
  EXPECT_EQ(resumed.observe(2.0).scale, clipper.observe(2.0).scale);

  expect_error([] { AdaptiveClipState::from_json({{"initialized", true}, {"var", 0.0}, {"max_norm", 1.0}}); },
               {"adaptive clipping state", "avg"});
  expect_error([] { AdaptiveClipState::from_json({{"initialized", false}, {"var", -1.0}, {"max_norm", 1.0}}); },
               {"var"});
  expect_error([] { AdaptiveGradClipper(0.0); }, {"init_max_grad_norm"});
}

}  // namespace
}  // namespace osp::rl
