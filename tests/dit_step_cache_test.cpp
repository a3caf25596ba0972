// The first-block step cache (docs/dit.md "Step cache") against the float64 reference DiT: a
// skipped step is block 0's output plus the residual the other blocks produced at the stored
// step, the skip happens exactly when the relative change of block 0's residual is below the
// threshold, and configurations it cannot serve are refused.
#include <gtest/gtest.h>

#include <c10/core/InferenceMode.h>

#include <cmath>

#include "expect_error.h"
#include "osp/models/dit/step_cache.h"
#include "osp/models/dit/text_context.h"
#include "reference_dit.h"
#include "test_util.h"

namespace {

using osp::dit::DiTConfig;
using osp::dit::TextContext;
using osp::dit::WanDiT;
using osp::test::Inputs;
using osp::test::Reference;
using osp::test::rel_error;

// Three blocks, dense: block 0 full, as the cache needs.
DiTConfig cache_config() {
  DiTConfig c = osp::test::tiny_config(32, 2);
  c.num_layers = 3;
  c.validate();
  return c;
}

// Two consecutive steps of one branch: the second's latent moved a little, its time a little less.
std::pair<Inputs, Inputs> two_steps(const DiTConfig& c, double move) {
  Inputs first = osp::test::random_inputs(c, 1, 2, 4, 6, 5, 7);
  first.t = at::full({1}, 700.0f);
  Inputs second = first;
  second.x = first.x + osp::test::randn(first.x.sizes(), 8, move);
  second.t = at::full({1}, 660.0f);
  return {first, second};
}

// mean |r2 − r1| / mean |r1| with r = block 0's output − its input, in float64.
double residual_change(const Reference::Streams& a, const Reference::Streams& b) {
  const at::Tensor r1 = a.after_first - a.before_first, r2 = b.after_first - b.before_first;
  return (r2 - r1).abs().mean().item<double>() / r1.abs().mean().item<double>();
}

const WanDiT& randomized(WanDiT& dit) {
  osp::test::randomize(dit, 5);
  return dit;
}

// A random float32 DiT and the float64 reference of the same weights.
struct Model {
  WanDiT dit;
  Reference reference;
  explicit Model(const DiTConfig& c) : dit(c, osp::test::kFp32, c10::kCPU), reference(randomized(dit)) {}
};

TEST(StepCache, ASkippedStepIsBlockZeroPlusTheStoredResidual) {
  const Model m(cache_config());
  const auto [first, second] = two_steps(m.dit.config(), 0.05);
  TextContext text(first.context);
  text.enable_step_cache(1e9);  // every step after a stored one skips
  c10::InferenceMode inference;
  const at::Tensor v1 = m.dit.forward(first.x, first.t, text);
  const at::Tensor v2 = m.dit.forward(second.x, second.t, text);
  EXPECT_EQ(text.step_cache()->computed(), 1);
  EXPECT_EQ(text.step_cache()->skipped(), 1);

  const Reference::Streams a = m.reference.streams(first), b = m.reference.streams(second);
  const at::Tensor expected = m.reference.output(second, b.after_first + (a.after_last - a.after_first));
  EXPECT_LE(rel_error(v1, m.reference.forward(first)), 1e-5);
  EXPECT_LE(rel_error(v2, expected), 1e-5);
  // The skip changed the result: the full second step differs by more than the tolerance.
  EXPECT_GT(rel_error(v2, m.reference.forward(second)), 1e-3);
}

TEST(StepCache, SkipsExactlyWhenTheResidualChangedLessThanTheThreshold) {
  const Model m(cache_config());
  const auto [first, second] = two_steps(m.dit.config(), 0.05);
  const double change = residual_change(m.reference.streams(first), m.reference.streams(second));
  ASSERT_GT(change, 1e-3);  // the two steps really differ
  for (const double factor : {1.02, 0.98}) {
    TextContext text(first.context);
    text.enable_step_cache(change * factor);
    c10::InferenceMode inference;
    m.dit.forward(first.x, first.t, text);
    const at::Tensor v2 = m.dit.forward(second.x, second.t, text);
    const osp::dit::StepCache& cache = *text.step_cache();
    EXPECT_NEAR(cache.last_change(), change, 1e-4 * change);
    EXPECT_EQ(cache.skipped(), factor > 1 ? 1 : 0) << factor;
    EXPECT_EQ(cache.computed(), factor > 1 ? 1 : 2) << factor;
    if (factor < 1) {
      EXPECT_LE(rel_error(v2, m.reference.forward(second)), 1e-5);
    }
  }
}

TEST(StepCache, WithoutACacheNothingIsSkipped) {
  const Model m(cache_config());
  const auto [first, second] = two_steps(m.dit.config(), 0.0);
  TextContext text(first.context);
  c10::InferenceMode inference;
  m.dit.forward(first.x, first.t, text);
  EXPECT_EQ(text.step_cache(), nullptr);
  EXPECT_LE(rel_error(m.dit.forward(second.x, second.t, text), m.reference.forward(second)), 1e-5);
}

TEST(StepCache, RefusesWhatItCannotServe) {
  using osp::test::expect_error;
  for (const double bad : {0.0, -0.1, std::nan("")}) {
    expect_error([bad] { osp::dit::StepCache cache(bad); }, {"step cache", "positive"});
  }
  // Block 0 in the Skiparse region (no full blocks): its output is in a sparse layout.
  DiTConfig sparse = osp::test::tiny_config(32, 2);
  const Model m(osp::test::all_sparse(sparse));
  const auto [first, second] = two_steps(m.dit.config(), 0.05);
  TextContext text(first.context);
  text.enable_step_cache(0.1);
  c10::InferenceMode inference;
  expect_error([&] { m.dit.forward(first.x, first.t, text); }, {"step cache", "block 0"});
}

}  // namespace
