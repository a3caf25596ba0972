#include "osp/quant/hif8.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "osp/quant/hif8_kernels.h"
#include "osp/quant/table_decode.h"

namespace osp::quant {
namespace {

uint32_t bits_of(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

float float_of(uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

// docs/quantization.md "HiF8 decoding", steps 1–8, for one byte.
float decode_by_rule(uint8_t b) {
  if (b == 0x80) return std::numeric_limits<float>::quiet_NaN();
  const float s = (b & 0x80) ? -1.0f : 1.0f;
  const int p = b & 0x7F;
  if (p == 0x00) return 0.0f;
  if (p == 0x6F) return s * std::numeric_limits<float>::infinity();
  if (p <= 0x07) return s * std::ldexp(1.0f, p - 23);  // DML
  int E = 0, mb = 3;
  if ((p >> 3) == 1) {
    E = 0;
  } else if ((p >> 4) == 1) {
    E = (p & 0x08) ? -1 : 1;
  } else {
    const int D = (p >> 5) + 1;  // (p >> 5) = 1, 2, 3 → D = 2, 3, 4
    mb = 5 - D;
    const int f = (p >> mb) & ((1 << D) - 1);
    const int Se = f >> (D - 1), T = f & ((1 << (D - 1)) - 1);
    const int magnitude = (1 << (D - 1)) + T;
    E = Se ? -magnitude : magnitude;
  }
  const int m = p & ((1 << mb) - 1);
  return s * std::ldexp(1.0f + static_cast<float>(m) / static_cast<float>(1 << mb), E);
}

}  // namespace

namespace {

at::Tensor contiguous_float_cpu(const at::Tensor& x, const char* what) {
  TORCH_CHECK(x.scalar_type() == at::kFloat || x.scalar_type() == at::kBFloat16 || x.scalar_type() == at::kHalf,
              what, ": expected float32, bf16 or fp16, got ", x.scalar_type());
  return x.to(at::kFloat).contiguous();
}

}  // namespace

namespace detail {

at::Tensor hif8_scaled_round_ops(const at::Tensor& x, float scale, bool saturate) {
  // The bit algorithm of "Bit-level encoder" steps 2–7 in LibTorch integer operations, for any device.
  const at::Tensor scaled = x.to(at::kFloat).contiguous() * scale;
  const at::Tensor u = scaled.view(at::kInt);
  const at::Tensor a = u.bitwise_and(0x7FFFFFFF);
  const at::Tensor e = a.__rshift__(23) - 127;
  const at::Tensor ae = e.abs();
  const at::Tensor mb = 3 - (ae > 3).to(at::kInt) - (ae > 7).to(at::kInt) - (ae > 15).to(at::kInt);
  const at::Tensor one = at::ones_like(mb);
  const at::Tensor half = at::bitwise_left_shift(one, 22 - mb);
  const at::Tensor mask = -at::bitwise_left_shift(one, 23 - mb);  // ~(2^sh − 1)
  // NaN magnitudes are replaced first so that the addition cannot wrap.
  const at::Tensor is_nan = a > 0x7F800000;
  at::Tensor r = (at::where(is_nan, at::zeros_like(a), a) + half).bitwise_and(mask);
  r = at::where(e == -23, at::full_like(r, 0x34800000), r);
  r = at::where(r > 0x47000000, at::full_like(r, saturate ? 0x47000000 : 0x7F800000), r);
  at::Tensor out = r.bitwise_or(u.bitwise_and(static_cast<int32_t>(0x80000000u)));
  out = at::where(a < 0x34000000, at::zeros_like(out), out);
  out = at::where(is_nan, at::full_like(out, 0x7FC00000), out);
  return out.view(at::kFloat) / scale;
}

}  // namespace detail

const std::array<float, 256>& hif8_table() {
  static const std::array<float, 256> table = [] {
    std::array<float, 256> t{};
    for (int b = 0; b < 256; ++b) t[b] = decode_by_rule(static_cast<uint8_t>(b));
    return t;
  }();
  return table;
}

uint8_t hif8_encode(float x, bool saturate) {
  // docs/quantization.md "Bit-level encoder".
  const uint32_t u = bits_of(x), s = u >> 31, a = u & 0x7FFFFFFFu;
  const uint8_t ovf = saturate ? (s ? 0xEE : 0x6E) : (s ? kHiF8NegInf : kHiF8PosInf);
  if (a > 0x7F800000u) return kHiF8NaN;                     // step 1
  if (a == 0x7F800000u) return ovf;
  if (a < 0x34000000u) return 0x00;                          // step 2: |x| < 2^−23
  if (static_cast<int>(a >> 23) - 127 >= 16) return ovf;     // step 3
  const uint32_t r = detail::hif8_round_magnitude(a);        // steps 4–5
  if (r > 0x47000000u) return ovf;                           // step 7: above 2^15 after rounding
  return static_cast<uint8_t>((s << 7) | detail::hif8_pack_magnitude(r));  // steps 6, 8, 9
}

float hif8_round(float x, bool saturate) {
  // "Value-domain rounding" in bit form: the rounded magnitude r of "Bit-level encoder" step 5 *is* the value of the code.
  const uint32_t u = bits_of(x), sign = u & 0x80000000u, a = u & 0x7FFFFFFFu;
  if (a > 0x7F800000u) return std::numeric_limits<float>::quiet_NaN();
  if (a < 0x34000000u) return 0.0f;
  uint32_t r = detail::hif8_round_magnitude(a);
  if (r > 0x47000000u) r = saturate ? 0x47000000u : 0x7F800000u;
  return float_of(sign | r);
}

namespace detail {

void hif8_encode_scalar(const float* x, uint8_t* codes, int64_t n, bool saturate) {
  for (int64_t i = 0; i < n; ++i) codes[i] = hif8_encode(x[i], saturate);
}

void hif8_scaled_round_scalar(const float* x, float* y, int64_t n, float scale, bool saturate) {
  for (int64_t i = 0; i < n; ++i) y[i] = hif8_round(x[i] * scale, saturate) / scale;
}

void decode_table_scalar(const uint8_t* codes, float* out, int64_t n, const float* table) {
  for (int64_t i = 0; i < n; ++i) out[i] = table[codes[i]];
}

}  // namespace detail

const char* hif8_cpu_kernel() { return detail::hif8_avx2_available() ? "avx2" : "scalar"; }

at::Tensor hif8_encode(const at::Tensor& x, bool saturate) {
  if (!x.is_cpu()) return hif8_encode(x.cpu(), saturate).to(x.device());
  const at::Tensor in = contiguous_float_cpu(x, "hif8_encode");
  at::Tensor codes = at::empty(in.sizes(), in.options().dtype(at::kByte));
  const float* src = in.data_ptr<float>();
  uint8_t* dst = codes.data_ptr<uint8_t>();
  const auto kernel = detail::hif8_avx2_available() ? detail::hif8_encode_avx2 : detail::hif8_encode_scalar;
  detail::parallel_spans(in.numel(), [&](int64_t begin, int64_t end) {
    kernel(src + begin, dst + begin, end - begin, saturate);
  });
  return codes;
}

at::Tensor hif8_decode(const at::Tensor& codes, at::ScalarType dtype) {
  TORCH_CHECK(codes.scalar_type() == at::kByte, "hif8_decode: expected uint8 codes, got ", codes.scalar_type());
  return decode_with_table(codes, hif8_table(), dtype);
}

at::Tensor hif8_scaled_round(const at::Tensor& x, float scale, bool saturate) {
  if (!x.is_cpu()) return detail::hif8_scaled_round_ops(x, scale, saturate);
  const at::Tensor in = contiguous_float_cpu(x, "hif8_round");
  at::Tensor out = at::empty_like(in);
  const float* src = in.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  const auto kernel =
      detail::hif8_avx2_available() ? detail::hif8_scaled_round_avx2 : detail::hif8_scaled_round_scalar;
  detail::parallel_spans(in.numel(), [&](int64_t begin, int64_t end) {
    kernel(src + begin, dst + begin, end - begin, scale, saturate);
  });
  return out;
}

at::Tensor hif8_round(const at::Tensor& x, bool saturate) {
  // Every HiF8 value (2^−22 … 2^15, at most 3 mantissa bits, ±Inf, NaN) is exact in bf16 and
  // fp16, so the cast back is exact.
  return hif8_scaled_round(x, 1.0f, saturate).to(x.scalar_type());
}

}  // namespace osp::quant
