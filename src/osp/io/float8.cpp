#include "osp/io/float8.h"

#include <array>
#include <cmath>
#include <limits>

namespace osp::io {
namespace {

struct Float8Format {
  int mantissa_bits;
  int bias;
  bool has_infinity;  // e5m2 reserves the top exponent like IEEE; e4m3fn uses it for numbers
};

Float8Format format_of(DType dtype) {
  return dtype == DType::kF8E5M2 ? Float8Format{2, 15, true} : Float8Format{3, 7, false};
}

float decode(uint8_t code, Float8Format f) {
  const int exponent_bits = 7 - f.mantissa_bits;
  const int max_exponent = (1 << exponent_bits) - 1;
  const int mantissa = code & ((1 << f.mantissa_bits) - 1);
  const int exponent = (code >> f.mantissa_bits) & max_exponent;
  const float sign = (code & 0x80) ? -1.0f : 1.0f;
  if (f.has_infinity && exponent == max_exponent) {
    return mantissa == 0 ? sign * std::numeric_limits<float>::infinity() : std::numeric_limits<float>::quiet_NaN();
  }
  if (!f.has_infinity && exponent == max_exponent && mantissa == (1 << f.mantissa_bits) - 1) {
    return std::numeric_limits<float>::quiet_NaN();
  }
  const float fraction = static_cast<float>(mantissa) / static_cast<float>(1 << f.mantissa_bits);
  if (exponent == 0) return sign * std::ldexp(fraction, 1 - f.bias);  // subnormal
  return sign * std::ldexp(1.0f + fraction, exponent - f.bias);
}

// The 256 values of each format, built once.
const std::array<float, 256>& table(DType dtype) {
  static const auto build = [](DType d) {
    std::array<float, 256> t{};
    for (int code = 0; code < 256; ++code) t[code] = decode(static_cast<uint8_t>(code), format_of(d));
    return t;
  };
  static const std::array<float, 256> e4m3 = build(DType::kF8E4M3);
  static const std::array<float, 256> e5m2 = build(DType::kF8E5M2);
  return dtype == DType::kF8E5M2 ? e5m2 : e4m3;
}

}  // namespace

float decode_float8(uint8_t code, DType dtype) { return table(dtype)[code]; }

at::Tensor decode_float8(const at::Tensor& codes, DType dtype) {
  TORCH_CHECK(codes.scalar_type() == at::kByte && codes.is_contiguous(), "float8 codes must be contiguous uint8");
  const std::array<float, 256>& values = table(dtype);
  at::Tensor out = at::empty(codes.sizes(), at::kFloat);
  const uint8_t* in = codes.data_ptr<uint8_t>();
  float* dst = out.data_ptr<float>();
  for (int64_t i = 0, n = codes.numel(); i < n; ++i) dst[i] = values[in[i]];
  return out;
}

}  // namespace osp::io
