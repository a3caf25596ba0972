#include "osp/quant/fp8.h"

#include <cmath>
#include <cstring>

#include "osp/io/float8.h"
#include "osp/quant/hif8_kernels.h"
#include "osp/quant/table_decode.h"

namespace osp::quant {

const std::array<float, 256>& fp8_e4m3_table() {
  static const std::array<float, 256> table = [] {
    std::array<float, 256> t{};
    for (int c = 0; c < 256; ++c) t[c] = io::decode_float8(static_cast<uint8_t>(c), io::DType::kF8E4M3);
    return t;
  }();
  return table;
}

uint8_t fp8_e4m3_encode(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  const uint8_t sign = static_cast<uint8_t>((u >> 24) & 0x80u);
  const uint32_t a = u & 0x7FFFFFFFu;
  if (a > 0x7F800000u) return 0x7F;                      // NaN
  if (a >= 0x43E00000u) return sign | 0x7E;               // ≥ 448 and ±Inf: satfinite
  if (a < 0x3C800000u) {                                  // below 2^−6: subnormals, step 2^−9
    float magnitude;
    std::memcpy(&magnitude, &a, sizeof magnitude);
    const auto m = static_cast<uint8_t>(std::nearbyint(magnitude * 512.0f));  // RNE; 8 = 2^−6
    return sign | m;
  }
  // Normal: round the float32 mantissa to 3 bits, ties to even (a carry may bump the exponent).
  const uint32_t r = (a + 0x7FFFFu + ((a >> 20) & 1u)) & 0xFFF00000u;
  const uint32_t exponent = (r >> 23) - 127 + 7;          // 1 … 15
  return sign | static_cast<uint8_t>((exponent << 3) | ((r >> 20) & 7u));
}

at::Tensor fp8_e4m3_encode(const at::Tensor& x) {
  if (!x.is_cpu()) return fp8_e4m3_encode(x.cpu()).to(x.device());
  TORCH_CHECK(at::isFloatingType(x.scalar_type()), "fp8_e4m3_encode: expected a floating tensor, got ", x.scalar_type());
  const at::Tensor in = x.to(at::kFloat).contiguous();
  at::Tensor codes = at::empty(in.sizes(), in.options().dtype(at::kByte));
  const float* src = in.data_ptr<float>();
  uint8_t* dst = codes.data_ptr<uint8_t>();
  detail::parallel_spans(in.numel(), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) dst[i] = fp8_e4m3_encode(src[i]);
  });
  return codes;
}

at::Tensor fp8_e4m3_decode(const at::Tensor& codes, at::ScalarType dtype) {
  return decode_with_table(codes, fp8_e4m3_table(), dtype);
}

}  // namespace osp::quant
