#include "osp/nn/gemm.h"

#include "osp/core/op_profile.h"

#include "osp/nn/autograd.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace osp::nn {
namespace {

bool detect_native_bf16() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  bool avx512_bf16 = false, amx_bf16 = false;
  if (__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) avx512_bf16 = (eax >> 5) & 1u;  // CPUID.7.1:EAX[5]
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) amx_bf16 = (edx >> 22) & 1u;    // CPUID.7.0:EDX[22]
  return avx512_bf16 || amx_bf16;
#else
  return false;
#endif
}

// A weight or bias as a float32 tensor of bf16 values (stored bf16: widened exactly; stored fp32:
// rounded copy, as autocast would round it).
at::Tensor bf16_valued_fp32(const at::Tensor& t) {
  if (!t.defined()) return t;
  if (t.scalar_type() == at::kBFloat16) return t.to(at::kFloat);
  return records_graph(t) ? bf16_round_trip(t) : rounded_to_bf16(t);
}

at::Tensor as_float(const at::Tensor& t) {
  return (!t.defined() || t.scalar_type() == at::kFloat) ? t : t.to(at::kFloat);
}

at::Tensor as_bf16(const at::Tensor& t) {
  return (!t.defined() || t.scalar_type() == at::kBFloat16) ? t : t.to(at::kBFloat16);
}

// [M, K] · weightᵀ (+ bias) in fp32 arithmetic; operands already in the dtype wanted.
at::Tensor addmm_t(const at::Tensor& x2d, const at::Tensor& weight, const at::Tensor& bias) {
  return bias.defined() ? at::addmm(bias, x2d, weight.t()) : at::mm(x2d, weight.t());
}

}  // namespace

bool cpu_has_native_bf16() {
  static const bool has = detect_native_bf16();
  return has;
}

bool native_bf16_gemm(const c10::Device& device) { return device.is_cuda() || (device.is_cpu() && cpu_has_native_bf16()); }

GemmInput prepare_gemm_input(at::Tensor x, Precision precision, bool may_overwrite) {
  const profile::Scope scope(profile::OpKind::kCast);
  if (!precision.reduced()) return {as_float(x)};
  if (native_bf16_gemm(x.device())) return {as_bf16(x)};
  if (x.scalar_type() == at::kBFloat16) return {x.to(at::kFloat)};
  if (records_graph(x)) return {bf16_round_trip(x)};  // training: no write into a saved tensor
  if (may_overwrite && x.scalar_type() == at::kFloat && x.is_contiguous()) {
    round_to_bf16_(x);
    return {x};
  }
  return {rounded_to_bf16(x)};
}

at::Tensor linear(const GemmInput& x, const at::Tensor& weight, const at::Tensor& bias, Precision precision) {
  const at::Tensor& values = x.values;
  const int64_t in = weight.size(1), out = weight.size(0);
  TORCH_CHECK(values.size(-1) == in, "linear: input width ", values.size(-1), " != weight width ", in);
  std::vector<int64_t> out_shape(values.sizes().begin(), values.sizes().end());
  out_shape.back() = out;
  const at::Tensor x2d = values.reshape({-1, in});
  const profile::Scope scope(profile::OpKind::kGemm, 2.0 * static_cast<double>(x2d.size(0)) * in * out);

  at::Tensor y;
  if (!precision.reduced()) {
    y = addmm_t(as_float(x2d), as_float(weight), as_float(bias));
  } else if (native_bf16_gemm(values.device())) {
    y = addmm_t(as_bf16(x2d), as_bf16(weight), as_bf16(bias));  // native: fp32 accumulate, bf16 out
  } else {
    y = addmm_t(x2d, bf16_valued_fp32(weight), bf16_valued_fp32(bias));
    const profile::Scope rounding(profile::OpKind::kCast);
    if (records_graph(y)) {
      y = bf16_round_trip(y);
    } else {
      round_to_bf16_(y);
    }
  }
  return y.view(out_shape);
}

at::Tensor linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, Precision precision) {
  return linear(prepare_gemm_input(x, precision), weight, bias, precision);
}

at::Tensor matmul(const at::Tensor& a, const at::Tensor& b, Precision precision) {
  const profile::Scope scope(profile::OpKind::kGemm, 2.0 * static_cast<double>(a.size(0)) * a.size(1) * b.size(1));
  if (!precision.reduced()) return at::mm(as_float(a), as_float(b));
  if (native_bf16_gemm(a.device())) return at::mm(as_bf16(a), as_bf16(b));
  at::Tensor y = at::mm(prepare_gemm_input(a, precision).values, bf16_valued_fp32(b));
  if (records_graph(y)) return bf16_round_trip(y);
  round_to_bf16_(y);
  return y;
}

}  // namespace osp::nn
