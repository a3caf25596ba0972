#include "osp/nn/linear_adapter.h"

#include "osp/nn/autograd.h"
#include "osp/nn/bf16.h"

#include <vector>

namespace osp::nn {
namespace {

// One adapter's delta for x: scale·(x·Aᵀ)·Bᵀ + x·Dᵀ + d, [..., out] (or [out] for a bias delta
// alone, broadcast by the caller).
at::Tensor adapter_delta(const GemmInput& x, const LinearAdapter& a, Precision precision) {
  at::Tensor delta;
  if (a.down.defined()) {
    const at::Tensor h = linear(x, a.down, at::Tensor(), precision);  // [..., r]
    delta = linear(prepare_gemm_input(h, precision, /*may_overwrite=*/!records_graph(h)), a.up, at::Tensor(), precision) *
            a.scale;
  }
  at::Tensor full;
  if (a.diff.defined()) {
    full = linear(x, a.diff, a.diff_b, precision);
  } else if (a.diff_b.defined()) {
    full = a.diff_b.to(x.values.scalar_type());
  }
  if (full.defined()) delta = delta.defined() ? delta + full : full;
  return delta;
}

// Inference: every enabled adapter accumulated into y in place, without [rows, out] temporaries
// per adapter — the low-rank pairs of all adapters as one pair of GEMMs (A's stacked to
// [Σr, in], B's side by side to [out, Σr], the scales folded into the [rows, Σr] activations),
// the full deltas as in-place addmm. This keeps N stacked adapters at about N times one rank-r
// pair of skinny GEMMs instead of N rounds of full-size elementwise passes.
void accumulate_in_place(at::Tensor& y, const GemmInput& x, const LinearAdapters& adapters, Precision precision) {
  std::vector<at::Tensor> downs, ups, scales;
  const at::Tensor x2d = x.values.reshape({-1, x.values.size(-1)});
  at::Tensor y2d = y.view({-1, y.size(-1)});
  for (const auto& a : adapters) {
    if (!a->enabled) continue;
    if (a->down.defined()) {
      downs.push_back(a->down);
      ups.push_back(a->up);
      scales.push_back(at::full({a->down.size(0)}, a->scale, at::TensorOptions().dtype(at::kFloat)));
    }
    if (a->diff.defined()) y2d.addmm_(x2d, a->diff.to(y.scalar_type()).t());
    if (a->diff_b.defined()) y2d.add_(a->diff_b.to(y.scalar_type()));
  }
  if (!downs.empty()) {
    const at::Tensor down = downs.size() == 1 ? downs[0] : at::cat(downs);  // [Σr, in]
    const at::Tensor up = ups.size() == 1 ? ups[0] : at::cat(ups, 1);        // [out, Σr]
    at::Tensor h = linear(x, down, at::Tensor(), precision);                  // [..., Σr]
    h = h.reshape({-1, h.size(-1)}).mul_(at::cat(scales).to(h.device(), h.scalar_type()));
    const at::Tensor up_values = precision.reduced() && y.scalar_type() == at::kFloat ? rounded_to_bf16(up)
                                                                                       : up.to(y.scalar_type());
    y2d.addmm_(h.to(y.scalar_type()), up_values.t());
  }
}

// Training: the same sum as differentiable ops (the adapters' tensors receive gradients).
at::Tensor accumulate_with_graph(const at::Tensor& y, const GemmInput& x, const LinearAdapters& adapters,
                                 Precision precision) {
  at::Tensor sum;
  for (const auto& adapter : adapters) {
    if (!adapter->enabled) continue;
    at::Tensor delta = adapter_delta(x, *adapter, precision);
    if (!delta.defined()) continue;
    delta = delta.to(y.scalar_type());
    sum = sum.defined() ? sum + delta : delta;
  }
  return sum.defined() ? y + sum : y;  // broadcasts a bias-only delta [out] over the rows
}

bool any_graph(const at::Tensor& y, const GemmInput& x, const LinearAdapters& adapters) {
  if (records_graph(y, x.values)) return true;
  for (const auto& a : adapters) {
    if (a->enabled && records_graph(a->down, a->up, a->diff, a->diff_b)) return true;
  }
  return false;
}

bool any_enabled(const LinearAdapters& adapters) {
  for (const auto& a : adapters) {
    if (a->enabled) return true;
  }
  return false;
}

}  // namespace

at::Tensor add_adapters(at::Tensor y, const GemmInput& x, const LinearAdapters& adapters, Precision precision) {
  if (!any_enabled(adapters)) return y;
  if (any_graph(y, x, adapters)) {
    at::Tensor out = accumulate_with_graph(y, x, adapters, precision);
    return precision.reduced() && out.scalar_type() == at::kFloat ? bf16_round_trip(out) : out;
  }
  accumulate_in_place(y, x, adapters, precision);
  if (precision.reduced() && y.scalar_type() == at::kFloat) round_to_bf16_(y);
  return y;
}

}  // namespace osp::nn
