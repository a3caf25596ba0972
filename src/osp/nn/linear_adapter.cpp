#include "osp/nn/linear_adapter.h"

#include "osp/nn/autograd.h"
#include "osp/nn/bf16.h"

namespace osp::nn {
namespace {

// One adapter's unscaled delta for x: (x·Aᵀ)·Bᵀ + x·Dᵀ + d, [..., out].
at::Tensor adapter_delta(const GemmInput& x, const LinearAdapter& a, Precision precision) {
  at::Tensor delta;
  if (a.down.defined()) {
    const at::Tensor h = linear(x, a.down, at::Tensor(), precision);  // [..., r]
    delta = linear(prepare_gemm_input(h, precision, /*may_overwrite=*/!records_graph(h)), a.up, at::Tensor(), precision);
  }
  if (a.diff.defined()) {
    const at::Tensor d = linear(x, a.diff, a.diff_b, precision);
    delta = delta.defined() ? delta + d : d;
  } else if (a.diff_b.defined()) {
    const at::Tensor b = a.diff_b.to(x.values.scalar_type());  // [out], broadcast over the rows
    delta = delta.defined() ? delta + b : b;
  }
  return delta;
}

}  // namespace

at::Tensor add_adapters(at::Tensor y, const GemmInput& x, const LinearAdapters& adapters, Precision precision) {
  at::Tensor sum;
  for (const auto& adapter : adapters) {
    if (!adapter->enabled) continue;
    at::Tensor delta = adapter_delta(x, *adapter, precision);
    if (!delta.defined()) continue;
    delta = delta.to(y.scalar_type()) * adapter->scale;
    sum = sum.defined() ? sum + delta : delta;
  }
  if (!sum.defined()) return y;
  at::Tensor out = y + sum;  // broadcasts a bias-only delta [out] over the rows
  if (precision.reduced() && out.scalar_type() == at::kFloat) {
    if (records_graph(out)) return bf16_round_trip(out);
    round_to_bf16_(out);
  }
  return out;
}

}  // namespace osp::nn
