#pragma once
// float64 references for the diffusion tests: the Gaussian-data flow-matching problem, whose ideal
// velocity and ODE endpoint are known in closed form, and the three solvers written in their
// general textbook forms (UniPC with its linear system solved numerically, DPM-Solver++(2M) in its
// combined form), independent of the closed forms in src/osp/diffusion.
#include <ATen/ATen.h>

#include <cmath>
#include <vector>

#include "osp/diffusion/grid.h"
#include "osp/diffusion/sampler.h"
#include "osp/diffusion/velocity.h"

namespace osp::test {

// Data x0 ~ N(μ, diag(s²)), noised as x_σ = (1 − σ)·x0 + σ·ε (docs/sampling.md "Flow-matching convention").
// With a = 1 − σ, x_σ ~ N(a·μ, a²s² + σ²) per element, and the ideal velocity is
//   v(x, σ) = E[ε − x0 | x_σ = x] = (σ − a·s²)/(a²s² + σ²)·(x − a·μ) − μ.
// The probability-flow ODE dx/dσ = v keeps the standardized value z = (x − a·μ)/sd(σ) constant
// (sd = √(a²s² + σ²); check: d/dσ[a·μ + sd·z] = −μ + sd'·z = v), so the solution started at
// (x, σ_0) ends at σ = 0 in μ + s·(x − a_0·μ)/sd(σ_0).
struct GaussianFlow {
  at::Tensor mu;  // float64
  at::Tensor s;   // float64, > 0

  at::Tensor velocity(const at::Tensor& x, double sigma) const {
    const double a = 1.0 - sigma;
    const at::Tensor s2 = s * s;
    const at::Tensor var = s2 * (a * a) + sigma * sigma;
    return (sigma - a * s2) / var * (x.to(at::kDouble) - a * mu) - mu;
  }

  at::Tensor endpoint(const at::Tensor& x_start, double sigma0) const {
    const double a0 = 1.0 - sigma0;
    const at::Tensor sd0 = (s * s * (a0 * a0) + sigma0 * sigma0).sqrt();
    return mu + s * (x_start.to(at::kDouble) - a0 * mu) / sd0;
  }

  // The velocity callback of the sampling loop: float64 field, returned as float32.
  diffusion::VelocityFn fn() const {
    return [*this](const at::Tensor& x, const diffusion::StepInfo& step) {
      return velocity(x, static_cast<double>(step.sigma)).to(at::kFloat);
    };
  }
};

inline double ref_lambda(double sigma) { return std::log(1.0 - sigma) - std::log(sigma); }

// Σ_k w_k·D_k for float64 weights and tensors (zero tensor when empty).
inline at::Tensor weighted_sum(const std::vector<double>& w, const std::vector<at::Tensor>& d, const at::Tensor& like) {
  at::Tensor out = at::zeros_like(like);
  for (size_t k = 0; k < w.size(); ++k) out = out + w[k] * d[k];
  return out;
}

// The UniPC bh2 system for one interval (UniPC paper, Alg. "B(h)"): rows R_k = r^(k−1) over the
// nodes r = (r_1..r_{p−1}, 1), b_k = φ_k(h)·k!/B(h) with φ_1 = (e^{−h} − 1)/(−h) − 1 and
// φ_{k+1} = φ_k/(−h) − 1/(k + 1)!.
struct UniPCSystem {
  at::Tensor R, b;  // float64 [p, p], [p]
};
inline UniPCSystem unipc_system(const std::vector<double>& nodes, double h) {
  const int64_t p = static_cast<int64_t>(nodes.size());
  const double hh = -h, B = std::expm1(hh);
  at::Tensor R = at::empty({p, p}, at::kDouble), b = at::empty({p}, at::kDouble);
  double phi_k = std::expm1(hh) / hh - 1.0, factorial = 1.0;
  for (int64_t k = 1; k <= p; ++k) {
    for (int64_t j = 0; j < p; ++j) R[k - 1][j] = std::pow(nodes[static_cast<size_t>(j)], static_cast<double>(k - 1));
    b[k - 1] = phi_k * factorial / B;
    factorial *= static_cast<double>(k + 1);
    phi_k = phi_k / hh - 1.0 / factorial;
  }
  return {R, b};
}

inline std::vector<double> solve(const at::Tensor& R, const at::Tensor& b) {
  const at::Tensor x = at::linalg_solve(R, b);
  return std::vector<double>(x.data_ptr<double>(), x.data_ptr<double>() + x.numel());
}

// Runs `kind` on `grid` in float64 from `noise` with the exact velocity of `flow`.
inline at::Tensor reference_sample(diffusion::SamplerKind kind, const diffusion::Grid& grid, const at::Tensor& noise,
                                   const GaussianFlow& flow) {
  using diffusion::SamplerKind;
  const int64_t n = grid.steps();
  auto sig = [&](int64_t i) { return static_cast<double>(grid.sigmas[static_cast<size_t>(i)]); };
  at::Tensor x = noise.to(at::kDouble);
  std::vector<at::Tensor> ms;  // x0 predictions at σ_0..σ_{i}
  at::Tensor x_last;
  int64_t order_last = 0;
  for (int64_t i = 0; i < n; ++i) {
    const at::Tensor v = flow.velocity(x, sig(i));
    const at::Tensor m = x - sig(i) * v;
    if (kind == SamplerKind::kEuler) {
      x = x + (sig(i + 1) - sig(i)) * v;
      continue;
    }
    if (kind == SamplerKind::kDpmPP) {
      // DPM-Solver++(2M): x_t = (σ_t/σ_s)x − α_t(e^{−h} − 1)[(1 + 1/(2r))·m0 − 1/(2r)·m1].
      const double h = ref_lambda(sig(i + 1)) - ref_lambda(sig(i));
      const double c = (1.0 - sig(i + 1)) * (std::exp(-h) - 1.0);
      double w = 0.0;  // 1/(2r); first and last steps are first order
      if (i > 0 && i < n - 1) w = 0.5 * h / (ref_lambda(sig(i)) - ref_lambda(sig(i - 1)));
      at::Tensor blend = (1.0 + w) * m;
      if (w != 0.0) blend = blend - w * ms.back();
      x = (sig(i + 1) / sig(i)) * x - c * blend;
      ms.push_back(m);
      continue;
    }
    // UniPC bh2: corrector of the previous step (order order_last) from the new x0 prediction m.
    if (i > 0) {
      const double h = ref_lambda(sig(i)) - ref_lambda(sig(i - 1));
      const at::Tensor& m0 = ms.back();
      std::vector<double> nodes;
      std::vector<at::Tensor> ds;
      for (int64_t k = 1; k < order_last; ++k) {
        const double r = (ref_lambda(sig(i - 1 - k)) - ref_lambda(sig(i - 1))) / h;
        nodes.push_back(r);
        ds.push_back((ms[ms.size() - 1 - static_cast<size_t>(k)] - m0) / r);
      }
      nodes.push_back(1.0);
      ds.push_back(m - m0);
      const UniPCSystem sys = unipc_system(nodes, h);
      const std::vector<double> rho = order_last == 1 ? std::vector<double>{0.5} : solve(sys.R, sys.b);
      const double alpha = 1.0 - sig(i), B = std::expm1(-h);
      x = (sig(i) / sig(i - 1)) * x_last - alpha * B * m0 - alpha * B * weighted_sum(rho, ds, m);
    }
    ms.push_back(m);
    const int64_t order = std::min<int64_t>({2, n - i, i + 1});
    x_last = x;
    order_last = order;
    // Predictor of order `order` from σ_i to σ_{i+1}.
    const double h = ref_lambda(sig(i + 1)) - ref_lambda(sig(i));
    const double alpha = 1.0 - sig(i + 1), B = std::expm1(-h);
    at::Tensor next = (sig(i + 1) / sig(i)) * x - alpha * B * m;
    if (order == 2) {
      const double r = (ref_lambda(sig(i - 1)) - ref_lambda(sig(i))) / h;
      next = next - alpha * B * 0.5 * ((ms[ms.size() - 2] - m) / r);
    }
    x = next;
  }
  return x;
}

}  // namespace osp::test
