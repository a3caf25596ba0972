// The differentiable DiT forward (nn/autograd.h): with parameters requiring grad the same
// WanDiT::forward records an autograd graph. Checks: (a) the training path computes the values of
// the inference kernels (full and Skiparse configs, fp32 and bf16); (b) its gradients w.r.t.
// parameters of every kind and w.r.t. the inputs x and context equal central finite differences
// of the independent float64 reference (tests/reference_dit.h).
#include <gtest/gtest.h>

#include <c10/core/InferenceMode.h>

#include <cstdio>
#include <string>
#include <vector>

#include "reference_dit.h"
#include "test_util.h"
#include "osp/models/dit/model.h"

namespace {

using osp::dit::DiTConfig;
using osp::dit::WanDiT;
using osp::test::Inputs;
using osp::test::kBf16;
using osp::test::kFp32;
using osp::test::rel_error;

struct TrainCase {
  const char* name;
  bool sparse;
  int64_t B, F, H, W;  // latent size; tokens (F, H/2, W/2)
};

DiTConfig case_config(const TrainCase& tc) {
  DiTConfig c = osp::test::tiny_config(32, 2);
  // Sparse: block 0 token, block 1 group; the 3×5 token grid pads to 4×6, so the layouts' key
  // masks take part.
  return tc.sparse ? osp::test::all_sparse(c) : c;
}

// Dense [L, L] self-attention masks equivalent to the dual_end Skiparse blocks
// (docs/skiparse.md "Layouts" membership): token block: same (y mod P, x mod P); group block: same
// (⌊y/P⌋ mod P, ⌊x/P⌋ mod P). Written for the schedule of case_config (token, group).
std::vector<at::Tensor> reference_masks(const DiTConfig& c, const TrainCase& tc) {
  if (!tc.sparse) return {};
  const int64_t T = tc.F, Hh = tc.H / 2, Ww = tc.W / 2, L = T * Hh * Ww, P = c.sparse_ratio;
  at::Tensor token = at::empty({L, L}, at::kBool), group = at::empty({L, L}, at::kBool);
  auto ta = token.accessor<bool, 2>(), ga = group.accessor<bool, 2>();
  const auto pos = [&](int64_t l) { return std::array<int64_t, 2>{(l / Ww) % Hh, l % Ww}; };
  for (int64_t i = 0; i < L; ++i)
    for (int64_t j = 0; j < L; ++j) {
      const auto a = pos(i), b = pos(j);
      ta[i][j] = a[0] % P == b[0] % P && a[1] % P == b[1] % P;
      ga[i][j] = (a[0] / P) % P == (b[0] / P) % P && (a[1] / P) % P == (b[1] / P) % P;
    }
  return {token, group};
}

void enable_grad(WanDiT& model) {
  for (auto& p : model.parameters()) p.requires_grad_(true);
}

// bf16 model with the fp32 model's weights (rounded by the parameter dtypes).
void copy_weights(const WanDiT& from, WanDiT& to) {
  c10::InferenceMode guard;
  const auto source = from.named_parameters();
  for (const auto& item : to.named_parameters()) item.value().copy_(source[item.key()]);
}

void expect_training_forward_equals_inference(const TrainCase& tc) {
  const DiTConfig c = case_config(tc);
  const Inputs in = osp::test::random_inputs(c, tc.B, tc.F, tc.H, tc.W, 5, 71);
  for (const osp::Precision precision : {kFp32, kBf16}) {
    WanDiT reference_weights(c, kFp32);
    osp::test::randomize(reference_weights, 70);
    WanDiT model(c, precision);
    copy_weights(reference_weights, model);
    at::Tensor inference;
    {
      c10::InferenceMode guard;
      inference = model.forward(in.x, in.t, in.context);
    }
    enable_grad(model);
    const at::Tensor training = model.forward(in.x, in.t, in.context);
    ASSERT_TRUE(training.requires_grad());
    const double err = rel_error(training.detach(), inference);
    std::printf("[ training ] %s %s: training vs inference forward %.3g\n", tc.name, precision.name().c_str(), err);
    EXPECT_LE(err, precision.reduced() ? 1e-2 : 1e-6);
    // The graph is complete: one backward reaches every parameter.
    training.mul(training.detach()).sum().backward();
    for (const auto& item : model.named_parameters()) {
      ASSERT_TRUE(item.value().grad().defined()) << item.key();
      EXPECT_TRUE(item.value().grad().isfinite().all().item<bool>()) << item.key();
    }
  }
}

// Loss = Σ v·R for a fixed random R: every output element's gradient enters.
double reference_loss(const osp::test::Reference& reference, const Inputs& in, const std::vector<at::Tensor>& masks,
                      const at::Tensor& weights) {
  return (reference.forward(in, masks) * weights).sum().item<double>();
}

// Central differences of the float64 reference at `count` random elements of one tensor, picked
// by `element` (parameter name, or "x" / "context"), next to the autograd gradient there.
struct GradientCheck {
  at::Tensor numeric, autograd;
};

GradientCheck check_elements(const DiTConfig& c, const std::map<std::string, at::Tensor>& params, const Inputs& in,
                             const std::vector<at::Tensor>& masks, const at::Tensor& weights, const std::string& what,
                             const at::Tensor& autograd_grad, int64_t count, uint64_t seed) {
  constexpr double h = 1e-4;
  at::Generator g = at::detail::createCPUGenerator(seed);
  const int64_t numel = autograd_grad.numel();
  const at::Tensor picks = at::randperm(numel, g, at::kLong).narrow(0, 0, std::min(count, numel));
  GradientCheck out{at::empty({picks.numel()}, at::kDouble), at::empty({picks.numel()}, at::kDouble)};
  for (int64_t i = 0; i < picks.numel(); ++i) {
    const int64_t e = picks[i].item<int64_t>();
    double value[2];
    for (int side = 0; side < 2; ++side) {
      const double step = side == 0 ? h : -h;
      std::map<std::string, at::Tensor> p = params;
      Inputs perturbed{in.x.to(at::kDouble), in.t, in.context.to(at::kDouble)};
      at::Tensor& target = what == "x" ? perturbed.x : what == "context" ? perturbed.context : p.at(what);
      target = target.clone();
      target.view(-1)[e] += step;
      value[side] = reference_loss(osp::test::Reference(c, p), perturbed, masks, weights);
    }
    out.numeric[i] = (value[0] - value[1]) / (2 * h);
    out.autograd[i] = autograd_grad.reshape(-1)[e].item<double>();
  }
  return out;
}

void expect_gradients_match_finite_differences(const TrainCase& tc) {
  const DiTConfig c = case_config(tc);
  Inputs in = osp::test::random_inputs(c, tc.B, tc.F, tc.H, tc.W, 5, 81);
  WanDiT model(c, kFp32);
  osp::test::randomize(model, 80);
  const osp::test::Reference reference(model);
  const std::vector<at::Tensor> masks = reference_masks(c, tc);
  const at::Tensor weights = osp::test::randn(in.x.sizes(), 82).to(at::kDouble);

  enable_grad(model);
  const at::Tensor x = in.x.clone().requires_grad_(true), context = in.context.clone().requires_grad_(true);
  const at::Tensor loss = (model.forward(x, in.t, context) * weights.to(at::kFloat)).sum();
  loss.backward();
  // The forward itself agrees with the reference (the masks describe the same Skiparse blocks).
  EXPECT_NEAR(loss.item<double>(), reference_loss(reference, in, masks, weights),
              1e-5 * std::abs(loss.item<double>()) + 1e-6);

  const auto named = model.named_parameters();
  // Blocks `a` and `b` are the token and group blocks of the Skiparse config (0 and 1 otherwise).
  const std::string a = "blocks." + std::to_string(c.num_layers / 2 - 1) + ".";
  const std::string b = "blocks." + std::to_string(c.num_layers / 2) + ".";
  const std::string last = "blocks." + std::to_string(c.num_layers - 1) + ".";
  const std::vector<std::string> checked = {
      "patch_embedding.weight", "text_embedding.0.weight", "time_embedding.0.weight", "time_projection.1.bias",
      a + "modulation", a + "self_attn.q.weight", a + "self_attn.norm_k.weight", b + "self_attn.k.weight",
      b + "self_attn.v.bias", last + "self_attn.o.weight", b + "cross_attn.k.weight", b + "cross_attn.norm_q.weight",
      "blocks.0.norm3.bias", last + "ffn.0.weight", last + "ffn.2.bias", "head.modulation", "head.head.weight", "x",
      "context"};
  double worst = 0;
  uint64_t seed = 90;
  for (const std::string& name : checked) {
    const at::Tensor grad = name == "x" ? x.grad() : name == "context" ? context.grad() : named[name].grad();
    ASSERT_TRUE(grad.defined()) << name;
    const GradientCheck check =
        check_elements(c, reference.parameters(), in, masks, weights, name, grad, 6, seed++);
    const double err = rel_error(check.autograd, check.numeric);
    worst = std::max(worst, err);
    EXPECT_LE(err, 1e-4) << name << ": autograd " << check.autograd << " numeric " << check.numeric;
  }
  std::printf("[ training ] %s: worst gradient error vs float64 central differences %.3g (%zu tensors)\n", tc.name,
              worst, checked.size());
}

const TrainCase kFull{"full", false, 2, 2, 4, 6};
const TrainCase kSkiparse{"skiparse", true, 2, 1, 6, 10};

TEST(DiTTraining, ForwardEqualsInferenceFull) { expect_training_forward_equals_inference(kFull); }
TEST(DiTTraining, ForwardEqualsInferenceSkiparse) { expect_training_forward_equals_inference(kSkiparse); }
TEST(DiTTraining, GradientsMatchFiniteDifferencesFull) { expect_gradients_match_finite_differences(kFull); }
TEST(DiTTraining, GradientsMatchFiniteDifferencesSkiparse) { expect_gradients_match_finite_differences(kSkiparse); }

}  // namespace
