#include "osp/nn/modulation.h"

#include "osp/core/op_profile.h"

#include "osp/nn/autograd.h"
#include "osp/nn/bf16.h"
#include "osp/nn/norm.h"

namespace osp::nn {

at::Tensor modulated_layer_norm(const at::Tensor& x, const at::Tensor& shift, const at::Tensor& scale, double eps,
                                bool round_norm_to_bf16) {
  const profile::Scope scope(profile::OpKind::kNorm);
  const int64_t width = x.size(-1);
  if (!round_norm_to_bf16 && x.size(0) == 1 && x.scalar_type() == at::kFloat) {
    // One sample: LN(x)·(1+scale)+shift is a LayerNorm with weight 1+scale and bias shift, done in
    // one fused pass.
    return at::layer_norm(x, {width}, (scale[0] + 1.0), shift[0], eps);
  }
  at::Tensor y = layer_norm(x, {}, {}, eps);
  if (records_graph(y, shift, scale)) {
    if (round_norm_to_bf16) y = bf16_round_trip(y);
    return y * (scale + 1.0).unsqueeze(1) + shift.unsqueeze(1);
  }
  if (round_norm_to_bf16) round_to_bf16_(y);
  return y.mul_((scale + 1.0).unsqueeze(1)).add_(shift.unsqueeze(1));
}

void add_gated_(at::Tensor& x, const at::Tensor& y, const at::Tensor& gate) {
  const profile::Scope scope(profile::OpKind::kNorm);
  const at::Tensor yf = y.scalar_type() == at::kFloat ? y : y.to(at::kFloat);
  if (records_graph(x, yf, gate)) {
    x = at::addcmul(x, yf, gate.unsqueeze(1));  // training: x is saved by the norms that read it
  } else {
    x.addcmul_(yf, gate.unsqueeze(1));
  }
}

void add_residual_(at::Tensor& x, const at::Tensor& y) {
  const profile::Scope scope(profile::OpKind::kNorm);
  const at::Tensor yf = y.scalar_type() == at::kFloat ? y : y.to(at::kFloat);
  if (records_graph(x, yf)) {
    x = x + yf;
  } else {
    x.add_(yf);
  }
}

}  // namespace osp::nn
