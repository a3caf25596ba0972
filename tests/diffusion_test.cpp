// diffusion: timestep grids against the official values (docs/sampling.md), the three samplers against float64
// references and against the exact ODE endpoint of Gaussian data (with their convergence orders),
// classifier-free guidance, the sampling loop, noise and the training schedule.
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "expect_error.h"
#include "osp/core/error.h"
#include "osp/diffusion/grid.h"
#include "osp/diffusion/guidance.h"
#include "osp/diffusion/negative_prompt.h"
#include "osp/diffusion/noise.h"
#include "osp/diffusion/sample.h"
#include "osp/diffusion/sampler.h"
#include "osp/diffusion/shift.h"
#include "osp/diffusion/training_schedule.h"
#include "osp/io/safetensors_writer.h"
#include "reference_samplers.h"
#include "scratch_dir.h"
#include "test_util.h"

namespace osp::diffusion {
namespace {

using test::GaussianFlow;

using osp::test::expect_error;

// ---------------------------------------------------------------- shift and grids

TEST(DiffusionShift, StaticShiftFixesTheEndsAndMatchesTheMuForm) {
  for (double s : {1.0, 3.0, 5.0, 7.0}) {
    EXPECT_EQ(shift_sigma(0.0, s), 0.0);
    EXPECT_EQ(shift_sigma(1.0, s), 1.0);
    for (double sigma : {0.1, 0.37, 0.5, 0.9}) {
      // docs/sampling.md "Shift": the same map written with μ = ln s.
      const double mu_form = std::exp(std::log(s)) / (std::exp(std::log(s)) + (1.0 / sigma - 1.0));
      EXPECT_NEAR(shift_sigma(sigma, s), mu_form, 1e-14);
      EXPECT_NEAR(shift_sigma_f32(static_cast<float>(sigma), static_cast<float>(s)), mu_form, 1e-6);
    }
  }
  EXPECT_EQ(shift_sigma(0.37, 1.0), 0.37);
  EXPECT_GT(shift_sigma(0.5, 5.0), 0.5);  // s > 1 moves steps toward high noise
}

TEST(DiffusionShift, DynamicShiftMatchesTheSpecValues) {
  // "Training noise schedule": 720×1280 → latent 90×160, S = 3600, ln s = 1.06604, s = 2.9039; 480×832 → s = 2.0559.
  EXPECT_NEAR(std::log(dynamic_shift(90, 160)), 1.06604, 5e-6);
  EXPECT_NEAR(dynamic_shift(90, 160), 2.9039, 5e-5);
  EXPECT_NEAR(dynamic_shift(60, 104), 2.0559, 5e-5);
  EXPECT_NEAR(std::log(dynamic_shift(16, 64)), 0.5, 1e-12);    // S = 256: base shift
  EXPECT_NEAR(std::log(dynamic_shift(64, 256)), 1.15, 1e-12);  // S = 4096: max shift
  EXPECT_THROW(dynamic_shift(0, 8), Error);
}

TEST(DiffusionGrid, UniPCGridEqualsTheOfficialOneAt50StepsShift5) {
  // docs/sampling.md "Wan UniPC grid", N = 50, s = 5.0.
  const std::vector<double> official = {999, 995, 991, 987, 982, 978, 973, 968, 963, 957, 952, 946, 940,
                                        934, 927, 920, 913, 906, 898, 890, 882, 873, 863, 854, 843, 833,
                                        821, 809, 796, 783, 768, 753, 737, 720, 701, 681, 660, 636, 611,
                                        584, 555, 522, 487, 448, 405, 356, 302, 241, 172, 92};
  const Grid grid = wan_unipc_grid(50, 5.0);
  EXPECT_EQ(grid.timesteps, official);
  ASSERT_EQ(grid.sigmas.size(), 51u);
  EXPECT_FLOAT_EQ(grid.sigmas[0], 0.99979985f);
  EXPECT_FLOAT_EQ(grid.sigmas[49], 0.09250686f);
  EXPECT_EQ(grid.sigmas[50], 0.0f);
  // The default UniPC options select this grid.
  SampleOptions options;
  EXPECT_EQ(sampling_grid(options).timesteps, official);
}

TEST(DiffusionGrid, UniPCGridTruncatesFromTheFloat64Sigma) {
  const Grid grid = wan_unipc_grid(7, 3.0);
  const double sigma_max = static_cast<double>(0.999f);
  for (int64_t i = 0; i < 7; ++i) {
    const double raw = sigma_max + static_cast<double>(i) * (0.0 - sigma_max) / 7.0;
    const double sigma = 3.0 * raw / (1.0 + 2.0 * raw);
    EXPECT_EQ(grid.timesteps[static_cast<size_t>(i)], std::trunc(1000.0 * sigma)) << i;
    EXPECT_EQ(grid.sigmas[static_cast<size_t>(i)], static_cast<float>(sigma)) << i;
  }
}

TEST(DiffusionGrid, DpmGridStartsAtSigmaOne) {
  // Wan's get_sampling_sigmas(6, 5.0) and int64(1000·σ), computed with numpy: the last value sits on
  // a truncation boundary (numpy's linspace gives σ = 0.16666666666666674 → 0.5 → t = 500).
  const Grid grid = wan_dpm_grid(6, 5.0);
  EXPECT_EQ(grid.timesteps, (std::vector<double>{1000, 961, 909, 833, 714, 500}));
  const std::vector<float> sigmas = {1.0f, 0.96153846f, 0.90909091f, 0.83333333f, 0.71428571f, 0.5f, 0.0f};
  ASSERT_EQ(grid.sigmas.size(), sigmas.size());
  for (size_t i = 0; i < sigmas.size(); ++i) EXPECT_FLOAT_EQ(grid.sigmas[i], sigmas[i]) << i;
}

TEST(DiffusionGrid, OspEulerGridKeepsFractionalTimesteps) {
  // "OSP-Next inference defaults": linspace(1, 0, N + 1) shifted by 7 on all points; t = 1000·σ as a float.
  const Grid grid = osp_euler_grid(50, 7.0);
  ASSERT_EQ(grid.sigmas.size(), 51u);
  EXPECT_EQ(grid.sigmas.front(), 1.0f);
  EXPECT_EQ(grid.timesteps.front(), 1000.0);
  EXPECT_EQ(grid.sigmas.back(), 0.0f);
  bool fractional = false;
  for (int64_t i = 0; i < 50; ++i) {
    const double sigma = shift_sigma(1.0 - static_cast<double>(i) / 50.0, 7.0);
    EXPECT_NEAR(grid.sigmas[static_cast<size_t>(i)], sigma, 3e-7) << i;
    EXPECT_NEAR(grid.timesteps[static_cast<size_t>(i)], 1000.0 * sigma, 3e-4) << i;
    fractional |= grid.timesteps[static_cast<size_t>(i)] != std::trunc(grid.timesteps[static_cast<size_t>(i)]);
    if (i > 0) {
      EXPECT_LT(grid.sigmas[static_cast<size_t>(i)], grid.sigmas[static_cast<size_t>(i - 1)]);
    }
  }
  EXPECT_TRUE(fractional);
}

TEST(DiffusionGrid, RejectsBadStepsAndShiftNamingTheFlag) {
  expect_error([] { wan_unipc_grid(0, 5.0); }, {"--steps", "0"});
  expect_error([] { osp_euler_grid(10, -1.0); }, {"--shift"});
  expect_error([] { wan_dpm_grid(10, std::nan("")); }, {"--shift"});
}

// ---------------------------------------------------------------- samplers

// Gaussian data with per-element means and scales.
GaussianFlow gaussian_flow(uint64_t seed) {
  at::Generator g = at::detail::createCPUGenerator(seed);
  const at::Tensor mu = at::normal(0.0, 0.7, {2, 3, 4, 5}, g, at::TensorOptions().dtype(at::kDouble));
  const at::Tensor s = at::rand({2, 3, 4, 5}, g, at::TensorOptions().dtype(at::kDouble)) * 1.2 + 0.3;
  return {mu, s};
}

// Runs the library sampler of `kind` (float32) on its default grid.
at::Tensor run_sampler(SamplerKind kind, int64_t steps, double shift, const at::Tensor& noise, const GaussianFlow& flow) {
  SampleOptions options;
  options.sampler = kind;
  options.steps = steps;
  options.shift = shift;
  return sample(noise, flow.fn(), options);
}

struct SamplerCase {
  SamplerKind kind;
  const char* name;
  int64_t coarse_steps;          // the order is measured between this and twice as many steps
  double min_order, max_order;   // accepted empirical convergence order
  double max_error_160;          // accepted relative error at 160 steps, shift 5
};

void PrintTo(const SamplerCase& c, std::ostream* os) { *os << c.name; }

class SamplerTest : public ::testing::TestWithParam<SamplerCase> {};

TEST_P(SamplerTest, MatchesTheFloat64Reference) {
  const GaussianFlow flow = gaussian_flow(1);
  const at::Tensor noise = test::randn({2, 3, 4, 5}, 2);
  for (int64_t steps : {1, 2, 3, 12}) {
    const Grid grid = make_grid(default_grid(GetParam().kind), steps, 3.0);
    const at::Tensor reference = test::reference_sample(GetParam().kind, grid, noise, flow);
    const at::Tensor got = run_sampler(GetParam().kind, steps, 3.0, noise, flow);
    EXPECT_EQ(got.scalar_type(), at::kFloat);
    EXPECT_LT(test::rel_error(got, reference), 2e-6) << steps << " steps";
  }
}

// The relative error of the float32 sampler's endpoint against the exact ODE endpoint.
double endpoint_error(SamplerKind kind, int64_t steps, double shift, const GaussianFlow& flow, const at::Tensor& noise) {
  const double sigma0 = make_grid(default_grid(kind), steps, shift).sigmas[0];
  return test::rel_error(run_sampler(kind, steps, shift, noise, flow), flow.endpoint(noise, sigma0));
}

TEST_P(SamplerTest, ConvergesAtItsOrder) {
  // The order shows cleanly on the unshifted grid. (At shift 5 the grid crowds the first steps near
  // σ = 1, where the λ-steps stay O(1) until N reaches the thousands, so the measured order there
  // dips below 2 between 40 and 320 steps before recovering; see the next test for shift 5.)
  const GaussianFlow flow = gaussian_flow(3);
  const at::Tensor noise = test::randn({2, 3, 4, 5}, 4);
  const int64_t n = GetParam().coarse_steps;
  const double coarse = endpoint_error(GetParam().kind, n, 1.0, flow, noise);
  const double fine = endpoint_error(GetParam().kind, 2 * n, 1.0, flow, noise);
  const double order = std::log2(coarse / fine);
  EXPECT_GE(order, GetParam().min_order) << "errors " << coarse << " (" << n << " steps), " << fine;
  EXPECT_LE(order, GetParam().max_order) << "errors " << coarse << " (" << n << " steps), " << fine;
}

TEST_P(SamplerTest, ConvergesToTheExactEndpointAtShift5) {
  const GaussianFlow flow = gaussian_flow(5);
  const at::Tensor noise = test::randn({2, 3, 4, 5}, 6);
  double previous = 1.0;
  for (int64_t steps : {10, 40, 160}) {
    const double error = endpoint_error(GetParam().kind, steps, 5.0, flow, noise);
    EXPECT_LT(error, previous / 2.5) << steps << " steps";
    previous = error;
  }
  EXPECT_LT(previous, GetParam().max_error_160);
}

// Measured (float64 reference, this problem): Euler order 1.00; DPM++ 1.78 at 160→320 steps (still
// rising toward 2); UniPC 2.06 at 40→80.
INSTANTIATE_TEST_SUITE_P(Samplers, SamplerTest,
                         ::testing::Values(SamplerCase{SamplerKind::kEuler, "euler", 40, 0.9, 1.1, 0.03},
                                           SamplerCase{SamplerKind::kDpmPP, "dpmpp", 160, 1.6, 2.3, 4e-3},
                                           SamplerCase{SamplerKind::kUniPC, "unipc", 40, 1.8, 2.4, 2e-3}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(DiffusionSampler, UniPCLastStepReturnsTheX0Prediction) {
  // "UniPC solver" step 6: at σ_{i+1} = 0 the order-1 update is exactly x0̂ = x − σ·v.
  const Grid grid = wan_unipc_grid(1, 5.0);
  auto sampler = make_sampler(SamplerKind::kUniPC, grid);
  const at::Tensor x = test::randn({3, 7}, 5), v = test::randn({3, 7}, 6);
  const at::Tensor out = sampler->step(0, x, v);
  EXPECT_TRUE(out.equal(x - v * grid.sigmas[0]));
}

TEST(DiffusionSampler, EulerStepIsTheFloat32Update) {
  const Grid grid = osp_euler_grid(4, 7.0);
  auto sampler = make_sampler(SamplerKind::kEuler, grid);
  const at::Tensor x = test::randn({5, 6}, 7), v = test::randn({5, 6}, 8);
  const float delta = grid.sigmas[1] - grid.sigmas[0];
  EXPECT_TRUE(sampler->step(0, x, v).equal(x + v * delta));
}

TEST(DiffusionSampler, StepsMustRunInOrderWithMatchingShapes) {
  auto sampler = make_sampler(SamplerKind::kUniPC, wan_unipc_grid(3, 5.0));
  const at::Tensor x = test::randn({2, 2}, 9);
  EXPECT_THROW(sampler->step(1, x, x), Error);
  EXPECT_THROW(sampler->step(0, x, test::randn({2, 3}, 9)), Error);
}

TEST(DiffusionSampler, ParsesNamesAndListsTheValidOnes) {
  EXPECT_EQ(parse_sampler("unipc"), SamplerKind::kUniPC);
  EXPECT_EQ(parse_sampler("euler"), SamplerKind::kEuler);
  EXPECT_EQ(parse_sampler("dpm++"), SamplerKind::kDpmPP);
  for (SamplerKind kind : {SamplerKind::kUniPC, SamplerKind::kEuler, SamplerKind::kDpmPP}) {
    EXPECT_EQ(parse_sampler(sampler_name(kind)), kind);
  }
  expect_error([] { parse_sampler("ddim"); }, {"--sampler", "ddim", "unipc", "euler", "dpm++"});
}

// ---------------------------------------------------------------- sampling loop and guidance

TEST(DiffusionSample, PassesTheGridToTheModelAndKeepsTheStateDtype) {
  // OSP-Next ("OSP-Next inference defaults"): bf16 state, each Euler update in float32 rounded to bf16, float timesteps.
  const GaussianFlow flow = gaussian_flow(10);
  SampleOptions options;
  options.sampler = SamplerKind::kEuler;
  options.steps = 6;
  options.shift = 7.0;
  options.state_dtype = at::kBFloat16;
  const Grid grid = sampling_grid(options);
  std::vector<double> seen_t;
  auto velocity = [&](const at::Tensor& x, const StepInfo& step) {
    EXPECT_EQ(x.scalar_type(), at::kBFloat16);
    EXPECT_EQ(step.steps, 6);
    EXPECT_EQ(step.sigma, grid.sigmas[static_cast<size_t>(step.index)]);
    seen_t.push_back(step.timestep);
    return flow.velocity(x, step.sigma).to(at::kFloat);
  };
  const at::Tensor noise = test::randn({2, 3, 4, 5}, 11);
  const at::Tensor got = sample(noise, velocity, options);
  EXPECT_EQ(seen_t, grid.timesteps);
  at::Tensor x = noise.to(at::kBFloat16);
  for (int64_t i = 0; i < 6; ++i) {
    const at::Tensor v = flow.velocity(x, grid.sigmas[static_cast<size_t>(i)]).to(at::kFloat);
    const float delta = grid.sigmas[static_cast<size_t>(i + 1)] - grid.sigmas[static_cast<size_t>(i)];
    x = (x.to(at::kFloat) + v * delta).to(at::kBFloat16);
  }
  EXPECT_EQ(got.scalar_type(), at::kBFloat16);
  EXPECT_TRUE(got.equal(x));
}

TEST(DiffusionSample, RejectsAVelocityOfTheWrongShape) {
  SampleOptions options;
  options.steps = 3;
  auto wrong = [](const at::Tensor& x, const StepInfo&) { return at::zeros({1}); };
  expect_error([&] { sample(test::randn({2, 2}, 1), wrong, options); }, {"step 0", "[1]", "[2, 2]"});
}

TEST(DiffusionGuidance, CombinesTheBranchesInFloat64Agreement) {
  const at::Tensor vc = test::randn({4, 9}, 12), vu = test::randn({4, 9}, 13);
  const at::Tensor expected = vu.to(at::kDouble) + 5.0 * (vc.to(at::kDouble) - vu.to(at::kDouble));
  EXPECT_LT(test::rel_error(guide(vc, vu, 5.0), expected), 1e-6);
  EXPECT_TRUE(guide(vc, vu, 0.0).equal(vu));
}

TEST(DiffusionGuidance, ScaleOneRunsOnlyTheConditionalBranch) {
  int conditional_calls = 0, unconditional_calls = 0;
  const GaussianFlow flow = gaussian_flow(14);
  VelocityFn conditional = [&](const at::Tensor& x, const StepInfo& step) {
    ++conditional_calls;
    return flow.velocity(x, step.sigma).to(at::kFloat);
  };
  VelocityFn unconditional = [&](const at::Tensor& x, const StepInfo& step) {
    ++unconditional_calls;
    return (flow.velocity(x, step.sigma) * 0.5).to(at::kFloat);
  };
  SampleOptions options;
  options.steps = 5;
  const at::Tensor noise = test::randn({2, 3, 4, 5}, 15);
  const at::Tensor guided = sample(noise, classifier_free_guidance(conditional, unconditional, 1.0), options);
  EXPECT_EQ(conditional_calls, 5);
  EXPECT_EQ(unconditional_calls, 0);
  EXPECT_TRUE(guided.equal(sample(noise, conditional, options)));  // identical bytes
  // g = 5: both branches every step, and the result differs from the conditional branch alone.
  conditional_calls = 0;
  const at::Tensor five = sample(noise, classifier_free_guidance(conditional, unconditional, 5.0), options);
  EXPECT_EQ(conditional_calls, 5);
  EXPECT_EQ(unconditional_calls, 5);
  EXPECT_GT(test::rel_error(five, guided), 1e-3);
}

TEST(DiffusionGuidance, DefaultNegativePromptIsTheOfficialString) {
  const std::string prompt = kDefaultNegativePrompt;
  EXPECT_EQ(prompt.size(), 403u);  // UTF-8 bytes of the reference string ("Default negative prompt")
  EXPECT_EQ(prompt.rfind("色调艳丽，过曝，静态，", 0), 0u);
  EXPECT_EQ(prompt.substr(prompt.size() - std::strlen("背景人很多，倒着走")), "背景人很多，倒着走");
  EXPECT_EQ(negative_prompt_or_default(""), prompt);
  EXPECT_EQ(negative_prompt_or_default("blurry"), "blurry");
}

// ---------------------------------------------------------------- noise

TEST(DiffusionNoise, SameSeedSameBytesDifferentSeedsDiffer) {
  const std::vector<int64_t> shape = latent_shape(17, 64, 96);
  EXPECT_EQ(shape, (std::vector<int64_t>{16, 5, 8, 12}));
  const at::Tensor a = initial_noise(shape, 1024), b = initial_noise(shape, 1024), c = initial_noise(shape, 1025);
  EXPECT_EQ(a.scalar_type(), at::kFloat);
  EXPECT_EQ(std::memcmp(a.data_ptr(), b.data_ptr(), a.nbytes()), 0);
  EXPECT_FALSE(a.equal(c));
  // Standard normal: mean and variance of 7680 samples within 5 standard errors.
  EXPECT_NEAR(a.mean().item<double>(), 0.0, 5.0 / std::sqrt(7680.0));
  EXPECT_NEAR(a.var().item<double>(), 1.0, 5.0 * std::sqrt(2.0 / 7680.0));
  // The documented generator: torch.randn with a CPU generator seeded by `seed`.
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(1024);
  EXPECT_TRUE(a.equal(at::randn(shape, g, at::TensorOptions().dtype(at::kFloat))));
}

TEST(DiffusionNoise, LatentShapeRejectsInvalidVideos) {
  EXPECT_THROW(latent_shape(16, 64, 64), Error);
  EXPECT_THROW(latent_shape(17, 60, 64), Error);
}

// A VAE that compresses space by 4 (osp-next-tiny) or time by 2 gives the matching latent grid.
TEST(DiffusionNoise, LatentShapeFollowsTheVaeStrides) {
  EXPECT_EQ(latent_shape(17, 64, 96, 8, {4, 4}), (std::vector<int64_t>{8, 5, 16, 24}));
  EXPECT_EQ(latent_shape(17, 64, 64, 8, {2, 8}), (std::vector<int64_t>{8, 9, 8, 8}));
  EXPECT_THROW(latent_shape(17, 68, 64, 8, {4, 8}), Error);  // 68 = 4·17: fine for stride 4 only
  EXPECT_EQ(latent_shape(17, 68, 64, 8, {4, 4}), (std::vector<int64_t>{8, 5, 17, 16}));
  EXPECT_THROW(latent_shape(15, 64, 64, 8, {4, 4}), Error);
}

TEST(DiffusionNoise, LoadsNoiseFromSafetensors) {
  test::ScratchDir dir("osp_diffusion");
  const at::Tensor noise = test::randn({16, 2, 4, 6}, 16);
  io::write_safetensors(dir / "noise.safetensors", {{"noise", noise}});
  EXPECT_TRUE(load_noise(dir / "noise.safetensors", noise.sizes()).equal(noise));
  // A batch dimension of 1 is dropped or added to match; a lone tensor needs no name.
  io::write_safetensors(dir / "batched.safetensors", {{"latents", noise.unsqueeze(0)}});
  EXPECT_TRUE(load_noise(dir / "batched.safetensors", noise.sizes()).equal(noise));
  EXPECT_TRUE(load_noise(dir / "noise.safetensors", noise.unsqueeze(0).sizes()).equal(noise.unsqueeze(0)));
  expect_error([&] { load_noise(dir / "noise.safetensors", {16, 2, 4, 8}); },
               {"noise.safetensors", "[16, 2, 4, 6]", "[16, 2, 4, 8]"});
  io::write_safetensors(dir / "half.safetensors", {{"noise", noise.to(at::kBFloat16)}});
  expect_error([&] { load_noise(dir / "half.safetensors", noise.sizes()); }, {"half.safetensors", "noise"});
  io::write_safetensors(dir / "two.safetensors", {{"a", noise}, {"b", noise}});
  expect_error([&] { load_noise(dir / "two.safetensors", noise.sizes()); }, {"two.safetensors", "'noise'"});
  EXPECT_THROW(load_noise(dir / "missing.safetensors", noise.sizes()), Error);
}

// ---------------------------------------------------------------- training schedule

TEST(DiffusionTraining, SigmasAreLogitNormalUnderTheDynamicShift) {
  at::Generator g = at::detail::createCPUGenerator(17);
  const int64_t n = 20000;
  const at::Tensor sigmas = sample_training_sigmas(n, 90, 160, g).to(at::kDouble);
  EXPECT_EQ(sigmas.size(0), n);
  EXPECT_GT(sigmas.min().item<double>(), 0.0);
  EXPECT_LT(sigmas.max().item<double>(), 1.0);
  // Undo the shift (s = 2.9039) and the sigmoid: u = logit(σ/(s − (s − 1)σ)) must be N(0, 1).
  const double s = dynamic_shift(90, 160);
  const at::Tensor unshifted = sigmas / (s - (s - 1.0) * sigmas);
  const at::Tensor u = at::log(unshifted / (1.0 - unshifted));
  EXPECT_NEAR(u.mean().item<double>(), 0.0, 5.0 / std::sqrt(static_cast<double>(n)));
  EXPECT_NEAR(u.std().item<double>(), 1.0, 5.0 * std::sqrt(0.5 / static_cast<double>(n)));
}

TEST(DiffusionTraining, InterpolationTargetAndLossMatchFloat64) {
  const at::Tensor x0 = test::randn({3, 4, 2, 5, 6}, 18), noise = test::randn({3, 4, 2, 5, 6}, 19);
  const at::Tensor sigmas = at::rand({3}, at::TensorOptions().dtype(at::kFloat));
  const at::Tensor x_t = interpolate(x0, noise, sigmas);
  at::Tensor expected = at::empty(x0.sizes(), at::kDouble);
  for (int64_t b = 0; b < 3; ++b) {
    const double s = sigmas[b].item<double>();
    expected[b] = s * noise[b].to(at::kDouble) + (1.0 - s) * x0[b].to(at::kDouble);
  }
  EXPECT_LT(test::rel_error(x_t, expected), 1e-6);
  EXPECT_EQ(interpolate(x0.to(at::kBFloat16), noise, sigmas).scalar_type(), at::kBFloat16);
  const at::Tensor target = velocity_target(x0, noise);
  const at::Tensor pred = test::randn({3, 4, 2, 5, 6}, 20);
  const double loss = flow_matching_loss(pred, target).item<double>();
  const at::Tensor d = pred.to(at::kDouble) - (noise.to(at::kDouble) - x0.to(at::kDouble));
  EXPECT_NEAR(loss, (d * d).mean().item<double>(), 1e-5 * loss);
  EXPECT_NEAR(training_timesteps(sigmas)[1].item<double>(), 1000.0 * sigmas[1].item<double>(), 1e-3);
  EXPECT_THROW(interpolate(x0, noise, at::rand({2})), Error);
}

}  // namespace
}  // namespace osp::diffusion
