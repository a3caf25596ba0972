// The RL rollout step (docs/rl.md): the sigma grid, the SDE mean, sample and log-probability
// against a float64 formulation written with explicit loops, the ODE step, the gradient of the
// log-probability against its analytic derivative, and the SDE window and its progression.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "expect_error.h"
#include "osp/core/error.h"
#include "osp/diffusion/sampler.h"
#include "osp/diffusion/sde_step.h"
#include "osp/diffusion/sde_window.h"
#include "test_util.h"

namespace osp::diffusion {
namespace {

using osp::test::expect_error;
using osp::test::randn;
using osp::test::rel_error;

// ---------------------------------------------------------------- float64 reference

std::vector<double> to_doubles(const at::Tensor& t) {
  const at::Tensor d = t.to(at::kDouble).contiguous();
  return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
}

at::Tensor from_doubles(const std::vector<double>& v, at::IntArrayRef shape) {
  return at::tensor(v, at::kDouble).reshape(shape);
}

// The step's scalars recomputed in float64 from the float32 grid values: σ = σ_i, dt = σ_{i+1} − σ_i,
// the SDE's std = σ_i, and s = std·√(−dt).
struct RefScalars {
  double sigma, dt, std, scale;
};
RefScalars ref_scalars(const Grid& grid, int64_t i) {
  const double sigma = grid.sigmas[static_cast<size_t>(i)];
  const double dt = static_cast<double>(grid.sigmas[static_cast<size_t>(i + 1)]) - sigma;
  return {sigma, dt, sigma, sigma * std::sqrt(-dt)};
}

// μ = x·(1 + std²·dt/(2σ)) + v·(1 + std²·(1 − σ)/(2σ))·dt, element by element.
std::vector<double> ref_mean(const std::vector<double>& x, const std::vector<double>& v, const RefScalars& r) {
  std::vector<double> mu(x.size());
  for (size_t k = 0; k < x.size(); ++k) {
    mu[k] = x[k] * (1.0 + r.std * r.std * r.dt / (2.0 * r.sigma)) +
            v[k] * (1.0 + r.std * r.std * (1.0 - r.sigma) / (2.0 * r.sigma)) * r.dt;
  }
  return mu;
}

// Per sample b: (1/M)·Σ_k [−(y − μ)²/(2s²) − ln s − ½·ln(2π)] over the M elements of sample b.
std::vector<double> ref_log_prob(const std::vector<double>& y, const std::vector<double>& mu, int64_t batch,
                                 const RefScalars& r) {
  const size_t per_sample = y.size() / static_cast<size_t>(batch);
  std::vector<double> logp(static_cast<size_t>(batch), 0.0);
  for (size_t b = 0; b < logp.size(); ++b) {
    double sum = 0.0;
    for (size_t k = b * per_sample; k < (b + 1) * per_sample; ++k) {
      const double d = y[k] - mu[k];
      sum += -d * d / (2.0 * r.scale * r.scale) - std::log(r.scale) - 0.5 * std::log(2.0 * M_PI);
    }
    logp[b] = sum / static_cast<double>(per_sample);
  }
  return logp;
}

const std::vector<int64_t> kShape = {2, 3, 2, 4, 5};  // [B, C, F, H, W]

// ---------------------------------------------------------------- grid

TEST(SdeGrid, UnshiftedGridIsOneMinusIOverN) {
  const Grid grid = rl_grid(25);
  ASSERT_EQ(grid.steps(), 25);
  ASSERT_EQ(grid.sigmas.size(), 26u);
  EXPECT_EQ(grid.sigmas.front(), 1.0f);
  EXPECT_EQ(grid.sigmas.back(), 0.0f);
  for (int64_t i = 0; i <= 25; ++i) {
    EXPECT_NEAR(grid.sigmas[static_cast<size_t>(i)], 1.0 - static_cast<double>(i) / 25.0, 1e-7) << i;
  }
  for (int64_t i = 0; i < 25; ++i) {
    // t = 1000·σ as a float, not truncated: a float32 σ just below 1 − i/25 must not drop to the
    // next integer.
    EXPECT_NEAR(grid.timesteps[static_cast<size_t>(i)], 1000.0 - 40.0 * static_cast<double>(i), 1e-4) << i;
    const SdeCoefficients c = sde_coefficients(grid, i);
    EXPECT_NEAR(c.dt, -1.0 / 25.0, 1e-7) << i;
    EXPECT_LT(c.dt, 0.0f);
  }
}

TEST(SdeGrid, ShiftMapsEveryPoint) {
  const double s = 3.0;
  const Grid grid = rl_grid(10, s);
  for (int64_t i = 0; i <= 10; ++i) {
    const double u = 1.0 - static_cast<double>(i) / 10.0;
    EXPECT_NEAR(grid.sigmas[static_cast<size_t>(i)], s * u / (1.0 + (s - 1.0) * u), 5e-7) << i;
  }
  EXPECT_EQ(grid.sigmas.front(), 1.0f);  // fixed points of the shift
  EXPECT_EQ(grid.sigmas.back(), 0.0f);
  EXPECT_THROW(rl_grid(0), Error);
  EXPECT_THROW(rl_grid(10, -1.0), Error);
}

TEST(SdeGrid, StdIsSigmaAndTheLastStepIsMarked) {
  for (double shift : {1.0, 3.0}) {
    const Grid grid = rl_grid(25, shift);
    for (int64_t i = 0; i < 25; ++i) {
      const SdeCoefficients c = sde_coefficients(grid, i);
      EXPECT_EQ(c.std, c.sigma) << i;  // σ_min = 0 and σ_max = 1 make std = σ_i exactly
      EXPECT_EQ(c.sigma, grid.sigmas[static_cast<size_t>(i)]);
      EXPECT_NEAR(c.noise_scale, c.sigma * std::sqrt(-static_cast<double>(c.dt)), 1e-7);
      EXPECT_EQ(c.last, i == 24);
    }
  }
  const Grid grid = rl_grid(25);
  expect_error([&] { sde_coefficients(grid, 25); }, {"25"});
  expect_error([&] { sde_coefficients(grid, -1); }, {"-1"});
}

// ---------------------------------------------------------------- mean, sample, log-probability

TEST(SdeStep, MeanSampleAndLogProbMatchFloat64Loops) {
  for (double shift : {1.0, 3.0}) {
    const Grid grid = rl_grid(25, shift);
    for (int64_t i : {0, 1, 9, 17, 23, 24}) {
      const at::Tensor x = randn(kShape, 100 + i);
      const at::Tensor v = randn(kShape, 200 + i);
      const at::Tensor eps = randn(kShape, 300 + i);
      const SdeCoefficients c = sde_coefficients(grid, i);
      const RefScalars r = ref_scalars(grid, i);
      const SdeStep step = sde_step(x, v, eps, c);

      const std::vector<double> mu = ref_mean(to_doubles(x), to_doubles(v), r);
      EXPECT_LT(rel_error(step.mean, from_doubles(mu, kShape)), 1e-6) << "shift " << shift << " step " << i;

      std::vector<double> next = mu;
      if (i < 24) {
        const std::vector<double> e = to_doubles(eps);
        for (size_t k = 0; k < next.size(); ++k) next[k] += r.scale * e[k];
      }
      EXPECT_LT(rel_error(step.next, from_doubles(next, kShape)), 1e-6) << "shift " << shift << " step " << i;

      // The density of the very sample the step drew, around the float64 mean.
      const std::vector<double> logp = ref_log_prob(to_doubles(step.next), mu, kShape[0], r);
      ASSERT_EQ(step.log_prob.dim(), 1);
      ASSERT_EQ(step.log_prob.size(0), kShape[0]);
      EXPECT_EQ(step.log_prob.scalar_type(), at::kFloat);
      EXPECT_LT(rel_error(step.log_prob, at::tensor(logp, at::kDouble)), 1e-5) << "shift " << shift << " step " << i;
    }
  }
}

TEST(SdeStep, InputsAreReadAsFloat32) {
  const Grid grid = rl_grid(25);
  const SdeCoefficients c = sde_coefficients(grid, 3);
  const at::Tensor x = randn(kShape, 1);
  const at::Tensor v = randn(kShape, 2).to(at::kBFloat16);
  const at::Tensor mu = sde_mean(x, v, c);
  EXPECT_EQ(mu.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::equal(mu, sde_mean(x, v.to(at::kFloat), c)));
}

TEST(SdeStep, ZeroNoiseGivesTheMeanAndTheLastStepHasNoNoise) {
  const Grid grid = rl_grid(25);
  const at::Tensor x = randn(kShape, 5);
  const at::Tensor v = randn(kShape, 6);
  const SdeCoefficients c = sde_coefficients(grid, 10);
  const at::Tensor mu = sde_mean(x, v, c);
  EXPECT_TRUE(at::equal(sde_sample(mu, at::zeros_like(mu), c), mu));
  EXPECT_FALSE(at::equal(sde_sample(mu, randn(kShape, 7), c), mu));

  const SdeCoefficients last = sde_coefficients(grid, 24);
  const SdeStep step = sde_step(x, v, randn(kShape, 8), last);
  EXPECT_TRUE(at::equal(step.next, step.mean));
  EXPECT_TRUE(at::equal(sde_sample(step.mean, at::Tensor(), last), step.mean));  // no noise needed
  expect_error([&] { sde_sample(mu, randn({2, 3}, 9), c); }, {"[2, 3]"});
}

TEST(SdeStep, OdeStepIsEuler) {
  const Grid grid = rl_grid(25, 3.0);
  const at::Tensor x = randn(kShape, 11);
  const at::Tensor v = randn(kShape, 12);
  const SdeCoefficients c0 = sde_coefficients(grid, 0);
  // The sampler's Euler step on the same grid, and x + dt·v in float64.
  EXPECT_TRUE(at::equal(ode_step(x, v, c0), make_sampler(SamplerKind::kEuler, grid)->step(0, x, v)));
  for (int64_t i : {0, 12, 24}) {
    const SdeCoefficients c = sde_coefficients(grid, i);
    const RefScalars r = ref_scalars(grid, i);
    EXPECT_LT(rel_error(ode_step(x, v, c), x.to(at::kDouble) + r.dt * v.to(at::kDouble)), 5e-7) << i;
  }
}

TEST(SdeStep, LogProbIsLargestAtTheMeanWithTheClosedFormValue) {
  const Grid grid = rl_grid(25);
  for (int64_t i : {0, 12, 24}) {
    const SdeCoefficients c = sde_coefficients(grid, i);
    const RefScalars r = ref_scalars(grid, i);
    const at::Tensor mu = sde_mean(randn(kShape, 20), randn(kShape, 21), c);
    const at::Tensor at_mean = sde_log_prob(mu, mu, c);
    const double closed_form = -std::log(r.scale) - 0.5 * std::log(2.0 * M_PI);
    for (int64_t b = 0; b < kShape[0]; ++b) EXPECT_NEAR(at_mean[b].item<double>(), closed_form, 1e-5) << i;
    for (uint64_t seed : {22, 23, 24}) {
      const at::Tensor off = mu + randn(kShape, seed, 0.01);
      EXPECT_TRUE((sde_log_prob(off, mu, c) < at_mean).all().item<bool>()) << i;
    }
  }
}

TEST(SdeStep, LogProbGradientFlowsThroughTheVelocityOnly) {
  const Grid grid = rl_grid(25, 3.0);
  for (int64_t i : {2, 20}) {
    const SdeCoefficients c = sde_coefficients(grid, i);
    const RefScalars r = ref_scalars(grid, i);
    const at::Tensor x = randn(kShape, 30);
    const at::Tensor target = randn(kShape, 31).requires_grad_(true);
    const at::Tensor v = randn(kShape, 32).requires_grad_(true);
    sde_log_prob(target, sde_mean(x, v, c), c).sum().backward();
    EXPECT_FALSE(target.grad().defined());  // the target is data
    ASSERT_TRUE(v.grad().defined());

    // ∂logp_b/∂v_k = (1/M)·(y_k − μ_k)/s²·∂μ_k/∂v_k, with ∂μ/∂v = (1 + std²(1 − σ)/(2σ))·dt.
    const std::vector<double> mu = ref_mean(to_doubles(x), to_doubles(v.detach()), r);
    const std::vector<double> y = to_doubles(target.detach());
    const double per_sample = static_cast<double>(y.size()) / static_cast<double>(kShape[0]);
    const double dmu_dv = (1.0 + r.std * r.std * (1.0 - r.sigma) / (2.0 * r.sigma)) * r.dt;
    std::vector<double> grad(y.size());
    for (size_t k = 0; k < y.size(); ++k) grad[k] = (y[k] - mu[k]) / (r.scale * r.scale) * dmu_dv / per_sample;
    EXPECT_LT(rel_error(v.grad(), from_doubles(grad, kShape)), 1e-5) << i;
  }
}

TEST(SdeStep, MismatchedShapesAreErrors) {
  const SdeCoefficients c = sde_coefficients(rl_grid(25), 0);
  expect_error([&] { sde_mean(randn(kShape, 1), randn({2, 3}, 2), c); }, {"x and v", "[2, 3]"});
  expect_error([&] { ode_step(randn(kShape, 1), randn({2, 3}, 2), c); }, {"ODE", "[2, 3]"});
  expect_error([&] { sde_log_prob(randn({2, 3}, 1), randn(kShape, 2), c); }, {"log-probability", "[2, 3]"});
}

// ---------------------------------------------------------------- SDE window

TEST(SdeWindow, FirstStepsAndSlidingWindows) {
  const StepWindow first = first_steps_window(25, 10);
  EXPECT_EQ(first.begin, 0);
  EXPECT_EQ(first.end, 10);
  EXPECT_TRUE(first.contains(0));
  EXPECT_TRUE(first.contains(9));
  EXPECT_FALSE(first.contains(10));
  EXPECT_EQ(first_steps_window(25, 0).size(), 0);
  EXPECT_EQ(first_steps_window(25, 25).size(), 25);
  expect_error([] { first_steps_window(25, 26); }, {"sde_steps", "26"});

  EXPECT_EQ(sliding_window(25, 0, 4).begin, 0);
  EXPECT_EQ(sliding_window(25, 0, 4).end, 4);
  EXPECT_EQ(sliding_window(25, 20, 4).end, 23);  // min(c + w, N − 2)
  EXPECT_EQ(sliding_window(25, 22, 4).size(), 1);
  EXPECT_EQ(sliding_window(25, 23, 4).size(), 0);  // c = N − 2: empty
  expect_error([] { sliding_window(25, 0, 0); }, {"width"});
  expect_error([] { sliding_window(25, -1, 4); }, {"start"});
}

TEST(SdeWindow, ScheduleAdvancesEveryTauIterationsAndRollsBack) {
  // N = 6: c may go up to N − 2 = 4; τ = 2, stride 1.
  SlidingWindowSchedule schedule;
  schedule.iterations = 2;
  schedule.stride = 1;
  std::vector<int64_t> starts;
  for (int k = 0; k < 12; ++k) {
    schedule.advance(6);
    starts.push_back(schedule.start);
  }
  EXPECT_EQ(starts, (std::vector<int64_t>{0, 1, 1, 2, 2, 3, 3, 4, 4, 0, 0, 1}));
  EXPECT_EQ(schedule.counter, 0);

  // Roll-back returns to the initial start, not to 0.
  SlidingWindowSchedule from_two;
  from_two.initial_start = from_two.start = 2;
  from_two.iterations = 1;
  from_two.stride = 2;
  from_two.advance(6);
  EXPECT_EQ(from_two.start, 4);
  from_two.advance(6);
  EXPECT_EQ(from_two.start, 2);
  EXPECT_EQ(from_two.window(6).begin, 2);
  EXPECT_EQ(from_two.window(6).end, 4);

  // Stride 0 keeps the window where it is.
  SlidingWindowSchedule fixed;
  fixed.stride = 0;
  for (int k = 0; k < 60; ++k) fixed.advance(25);
  EXPECT_EQ(fixed.start, 0);
  fixed.iterations = 0;
  expect_error([&] { fixed.advance(25); }, {"tau"});
}

}  // namespace
}  // namespace osp::diffusion
