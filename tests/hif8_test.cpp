// HiF8 codec (docs/quantization.md) against independent formulations: the bit layout of "HiF8 bit layout" read field by
// field in float64, a nearest-value search over the value set with ties away from zero, and the
// value-domain rule of "Value-domain rounding" in float64; scalar, AVX2 and LibTorch-ops paths bit for bit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "osp/quant/hif8.h"
#include "osp/quant/hif8_kernels.h"

namespace {

using osp::quant::hif8_decode;
using osp::quant::hif8_encode;
using osp::quant::hif8_round;

constexpr double kInf = std::numeric_limits<double>::infinity();

float float_of(uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

uint32_t bits_of(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

// Index of the first float whose bits differ, n when none does.
int64_t first_difference(const float* a, const float* b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if (bits_of(a[i]) != bits_of(b[i])) return i;
  }
  return n;
}

// "HiF8 bit layout" read as a bit layout: the dot prefix gives D and the mantissa width, then Se, T, m.
double decode_by_layout(uint8_t b) {
  if (b == 0x80) return std::nan("");
  const int p = b & 0x7F;
  const double sign = (b & 0x80) ? -1.0 : 1.0;
  if (p == 0) return 0.0;
  if (p == 0x6F) return sign * kInf;
  if (p < 0x08) return sign * std::ldexp(1.0, p - 23);  // "0000" + M
  int D, mb;
  if (p >= 0x60) D = 4, mb = 1;        // dot 11
  else if (p >= 0x40) D = 3, mb = 2;   // dot 10
  else if (p >= 0x20) D = 2, mb = 3;   // dot 01
  else if (p >= 0x10) D = 1, mb = 3;   // dot 001
  else D = 0, mb = 3;                  // dot 0001
  const int m = p & ((1 << mb) - 1);
  int E = 0;
  if (D > 0) {
    const int exponent_field = (p >> mb) & ((1 << D) - 1);  // Se then T
    const bool negative = (exponent_field >> (D - 1)) & 1;
    const int magnitude = (1 << (D - 1)) + (exponent_field & ((1 << (D - 1)) - 1));
    E = negative ? -magnitude : magnitude;
  }
  return sign * std::ldexp(1.0 + m / double(1 << mb), E);
}

// Positive finite values with their codes, ascending (0 first).
std::vector<std::pair<double, uint8_t>> positive_values() {
  std::vector<std::pair<double, uint8_t>> values;
  for (int c = 0; c < 0x80; ++c) {
    const double v = decode_by_layout(static_cast<uint8_t>(c));
    if (std::isfinite(v)) values.push_back({v, static_cast<uint8_t>(c)});
  }
  std::sort(values.begin(), values.end());
  return values;
}

// Nearest representable magnitude, ties to the larger (TA), with the overflow threshold 40960.
uint8_t encode_by_search(float x, bool saturate) {
  if (std::isnan(x)) return 0x80;
  static const auto values = positive_values();
  const bool negative = std::signbit(x);
  const double a = std::fabs(static_cast<double>(x));
  if (a >= 40960.0) return static_cast<uint8_t>((saturate ? 0x6E : 0x6F) | (negative ? 0x80 : 0));
  size_t best = 0;
  for (size_t i = 1; i < values.size(); ++i) {
    if (std::fabs(values[i].first - a) <= std::fabs(values[best].first - a)) best = i;  // ≤: the larger wins ties
  }
  const uint8_t code = values[best].second;
  return code == 0 ? 0 : static_cast<uint8_t>(code | (negative ? 0x80 : 0));
}

// "Value-domain rounding" in float64.
double round_by_value_rule(float x, bool saturate) {
  const double a = std::fabs(static_cast<double>(x));
  const double sign = std::signbit(x) ? -1.0 : 1.0;
  if (std::isnan(x)) return std::nan("");
  if (a < std::ldexp(1.0, -23)) return 0.0;
  if (a >= 40960.0) return sign * (saturate ? 32768.0 : kInf);
  const int e = std::ilogb(a);
  const int ae = std::abs(e);
  const int mb = ae <= 3 ? 3 : ae <= 7 ? 2 : ae <= 15 ? 1 : 0;
  const double step = std::max(std::ldexp(1.0, e - mb), std::ldexp(1.0, -22));
  return sign * std::floor(a / step + 0.5) * step;
}

// 10^6 floats across the whole range: random bit patterns (NaNs, infinities, subnormals, huge),
// log-uniform magnitudes over the HiF8 range and beyond, and exact midpoints.
std::vector<float> whole_range_values(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> log2_magnitude(-26.0, 17.0);
  std::vector<float> x(n);
  const auto values = positive_values();
  for (size_t i = 0; i < n; ++i) {
    switch (i % 4) {
      case 0: x[i] = float_of(rng()); break;
      case 1: x[i] = static_cast<float>(std::exp2(log2_magnitude(rng)) * ((rng() & 1) ? -1.0 : 1.0)); break;
      case 2: {
        const size_t j = rng() % (values.size() - 1);
        x[i] = static_cast<float>((values[j].first + values[j + 1].first) / 2 * ((rng() & 1) ? -1.0 : 1.0));
        break;
      }
      default: {  // random mantissa bits, exponents 2^−25 … 2^18
        const uint32_t exponent = 102 + rng() % 44;
        x[i] = float_of((rng() & 0x807FFFFFu) | (exponent << 23));
      }
    }
  }
  return x;
}

TEST(HiF8, DecodeOfEveryCodeFollowsTheLayout) {
  int positive = 0, negative = 0, zeros = 0, nans = 0, infinities = 0;
  for (int c = 0; c < 256; ++c) {
    const double expected = decode_by_layout(static_cast<uint8_t>(c));
    const float got = hif8_decode(static_cast<uint8_t>(c));
    if (std::isnan(expected)) {
      EXPECT_TRUE(std::isnan(got)) << c;
      ++nans;
      continue;
    }
    EXPECT_EQ(static_cast<double>(got), expected) << "code 0x" << std::hex << c;
    if (std::isinf(expected)) ++infinities;
    else if (expected == 0) ++zeros;
    else (expected > 0 ? positive : negative)++;
  }
  EXPECT_EQ(positive, 126);
  EXPECT_EQ(negative, 126);
  EXPECT_EQ(zeros, 1);
  EXPECT_EQ(nans, 1);
  EXPECT_EQ(infinities, 2);
  EXPECT_FALSE(std::signbit(hif8_decode(0x00)));
  // "HiF8 value range" and "HiF8 configuration fields" landmarks.
  EXPECT_EQ(hif8_decode(0x6E), 32768.0f);
  EXPECT_EQ(hif8_decode(0x7E), std::ldexp(1.0f, -15));
  EXPECT_EQ(hif8_decode(0x01), std::ldexp(1.0f, -22));
  EXPECT_EQ(hif8_decode(0x07), std::ldexp(1.0f, -16));
  EXPECT_EQ(hif8_decode(0x2F), 15.0f);
  EXPECT_EQ(hif8_decode(0x4F), 224.0f);
  EXPECT_EQ(hif8_decode(0x6F), std::numeric_limits<float>::infinity());
  EXPECT_EQ(hif8_decode(0xEF), -std::numeric_limits<float>::infinity());
  // Negation flips bit 7 (0x00 and 0x80 excepted).
  for (int c = 1; c < 0x80; ++c) EXPECT_EQ(hif8_decode(static_cast<uint8_t>(c | 0x80)), -hif8_decode(c)) << c;
}

TEST(HiF8, EncodeInvertsDecodeOnEveryFiniteCode) {
  for (int c = 0; c < 256; ++c) {
    const float v = hif8_decode(static_cast<uint8_t>(c));
    if (!std::isfinite(v)) continue;
    EXPECT_EQ(hif8_encode(v), c) << "code 0x" << std::hex << c << " value " << v;
    EXPECT_EQ(hif8_encode(v, /*saturate=*/true), c) << "code 0x" << std::hex << c;
    EXPECT_EQ(hif8_round(v), v);
  }
}

TEST(HiF8, SpotExamplesOfTheSpec) {
  // docs/quantization.md "Encoding examples".
  const std::vector<std::pair<float, uint8_t>> examples = {
      {1.0f, 0x08}, {-3.0f, 0x94}, {1.0625f, 0x09}, {15.5f, 0x40}, {100.0f, 0x4A}, {0.1f, 0x52},
      {36864.0f, 0x6E}, {40960.0f, 0x6F}};
  for (const auto& [x, code] : examples) EXPECT_EQ(hif8_encode(x), code) << x;
  EXPECT_EQ(hif8_decode(0x09), 1.125f);
  EXPECT_EQ(hif8_decode(0x4A), 96.0f);
  EXPECT_EQ(hif8_decode(0x52), 0.09375f);
  EXPECT_EQ(hif8_encode(40960.0f, true), 0x6E);
}

TEST(HiF8, TiesGoAwayFromZeroAndNeighboursOfEveryMidpointRoundToTheirSide) {
  const auto values = positive_values();
  ASSERT_EQ(values.size(), 127u);  // zero and 126 positive values
  for (size_t i = 0; i + 1 < values.size(); ++i) {
    const auto [lo, lo_code] = values[i];
    const auto [hi, hi_code] = values[i + 1];
    const float mid = static_cast<float>((lo + hi) / 2);
    ASSERT_EQ(static_cast<double>(mid), (lo + hi) / 2) << "midpoint not exact";
    const float below = std::nextafter(mid, 0.0f), above = std::nextafter(mid, 1e9f);
    EXPECT_EQ(hif8_encode(mid), hi_code) << "tie at " << mid;
    EXPECT_EQ(hif8_encode(below), lo_code) << "below " << mid;
    EXPECT_EQ(hif8_encode(above), hi_code) << "above " << mid;
    EXPECT_EQ(hif8_encode(-mid), hi_code | 0x80) << "tie at " << -mid;
    EXPECT_EQ(hif8_encode(-below), lo_code == 0 ? 0 : lo_code | 0x80) << "below " << -mid;
    EXPECT_EQ(hif8_encode(-above), hi_code | 0x80) << "above " << -mid;
  }
  // Above the largest value: the midpoint with the would-be 1.5·2^15 is the overflow threshold.
  EXPECT_EQ(hif8_encode(std::nextafter(40960.0f, 0.0f)), 0x6E);
  EXPECT_EQ(hif8_encode(-std::nextafter(40960.0f, 0.0f)), 0xEE);
  EXPECT_EQ(hif8_encode(32768.0f), 0x6E);
}

TEST(HiF8, OverflowUnderflowSaturationNaNAndInfinities) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  for (bool sat : {false, true}) {
    const uint8_t pos_ovf = sat ? 0x6E : 0x6F, neg_ovf = sat ? 0xEE : 0xEF;
    EXPECT_EQ(hif8_encode(nan, sat), 0x80);
    EXPECT_EQ(hif8_encode(-nan, sat), 0x80);
    EXPECT_EQ(hif8_encode(inf, sat), pos_ovf);
    EXPECT_EQ(hif8_encode(-inf, sat), neg_ovf);
    EXPECT_EQ(hif8_encode(40960.0f, sat), pos_ovf);
    EXPECT_EQ(hif8_encode(-40960.0f, sat), neg_ovf);
    EXPECT_EQ(hif8_encode(65536.0f, sat), pos_ovf);
    EXPECT_EQ(hif8_encode(3e38f, sat), pos_ovf);
    EXPECT_EQ(hif8_round(-1e6f, sat), sat ? -32768.0f : -inf);
    EXPECT_EQ(hif8_round(inf, sat), sat ? 32768.0f : inf);
  }
  EXPECT_TRUE(std::isnan(hif8_round(nan)));
  // Underflow: below 2^−23 → 0x00 (also for negatives: no −0); [2^−23, 2^−22) → ±2^−22.
  const float two_m23 = std::ldexp(1.0f, -23);
  EXPECT_EQ(hif8_encode(0.0f), 0x00);
  EXPECT_EQ(hif8_encode(-0.0f), 0x00);
  EXPECT_EQ(hif8_encode(std::nextafter(two_m23, 0.0f)), 0x00);
  EXPECT_EQ(hif8_encode(-std::nextafter(two_m23, 0.0f)), 0x00);
  EXPECT_EQ(hif8_encode(std::numeric_limits<float>::denorm_min()), 0x00);
  EXPECT_EQ(hif8_encode(two_m23), 0x01);
  EXPECT_EQ(hif8_encode(-two_m23), 0x81);
  EXPECT_EQ(hif8_encode(std::nextafter(std::ldexp(1.0f, -22), 0.0f)), 0x01);
  EXPECT_FALSE(std::signbit(hif8_round(-1e-30f)));
  // Inside DML the midpoint between 2^k and 2^(k+1) is 1.5·2^k.
  EXPECT_EQ(hif8_encode(1.5f * std::ldexp(1.0f, -20)), 0x04);
  EXPECT_EQ(hif8_encode(std::nextafter(1.5f * std::ldexp(1.0f, -20), 0.0f)), 0x03);
}

TEST(HiF8, EncodeMatchesNearestValueSearch) {
  const std::vector<float> x = whole_range_values(200000, 7);
  for (bool sat : {false, true}) {
    int mismatches = 0;
    for (float v : x) {
      const uint8_t expected = encode_by_search(v, sat), got = hif8_encode(v, sat);
      if (expected != got && ++mismatches <= 5) {
        ADD_FAILURE() << "x = " << v << " (bits 0x" << std::hex << bits_of(v) << "): expected 0x" << int(expected)
                      << " got 0x" << int(got);
      }
    }
    EXPECT_EQ(mismatches, 0);
  }
}

TEST(HiF8, RoundMatchesTheValueRuleAndDecodeOfEncode) {
  const std::vector<float> x = whole_range_values(200000, 8);
  for (bool sat : {false, true}) {
    for (float v : x) {
      const float q = hif8_round(v, sat);
      const double expected = round_by_value_rule(v, sat);
      if (std::isnan(v)) {
        ASSERT_TRUE(std::isnan(q));
        continue;
      }
      ASSERT_EQ(static_cast<double>(q), expected) << "x = " << v;
      ASSERT_EQ(bits_of(q), bits_of(hif8_decode(hif8_encode(v, sat)))) << "x = " << v;
    }
  }
}

TEST(HiF8, ScalarVectorizedAndTorchOpsAgreeBitForBit) {
  namespace d = osp::quant::detail;
  const std::vector<float> x = whole_range_values(1000000, 9);
  const int64_t n = static_cast<int64_t>(x.size());
  const at::Tensor xt = at::from_blob(const_cast<float*>(x.data()), {n}, at::kFloat);
  if (!d::hif8_avx2_available()) GTEST_SKIP() << "no AVX2 on this CPU: only the scalar kernels run";
  for (bool sat : {false, true}) {
    std::vector<uint8_t> scalar(n), vector(n);
    d::hif8_encode_scalar(x.data(), scalar.data(), n, sat);
    d::hif8_encode_avx2(x.data(), vector.data(), n, sat);
    const auto differ = std::mismatch(scalar.begin(), scalar.end(), vector.begin());
    ASSERT_TRUE(differ.first == scalar.end()) << "encode x = " << x[differ.first - scalar.begin()];

    for (float scale : {1.0f, 15.0f / 3.7f, 224.0f / 1e-3f}) {
      std::vector<float> ys(n), yv(n);
      d::hif8_scaled_round_scalar(x.data(), ys.data(), n, scale, sat);
      d::hif8_scaled_round_avx2(x.data(), yv.data(), n, scale, sat);
      const at::Tensor yo = d::hif8_scaled_round_ops(xt, scale, sat);
      const float* ops = yo.data_ptr<float>();
      // Bit patterns compared (NaN included).
      const int64_t first_vector = first_difference(ys.data(), yv.data(), n);
      const int64_t first_ops = first_difference(ys.data(), ops, n);
      ASSERT_EQ(first_vector, n) << "round x = " << x[first_vector] << " scale " << scale;
      ASSERT_EQ(first_ops, n) << "torch ops x = " << x[first_ops] << " scale " << scale;
    }
  }
  // Decode: every code, in random order, through both kernels.
  std::vector<uint8_t> codes(100003);
  std::mt19937 rng(3);
  for (auto& c : codes) c = static_cast<uint8_t>(rng());
  std::vector<float> ds(codes.size()), dv(codes.size());
  const auto& table = osp::quant::hif8_table();
  d::decode_table_scalar(codes.data(), ds.data(), static_cast<int64_t>(codes.size()), table.data());
  d::decode_table_avx2(codes.data(), dv.data(), static_cast<int64_t>(codes.size()), table.data());
  EXPECT_EQ(std::memcmp(ds.data(), dv.data(), ds.size() * sizeof(float)), 0);
}

TEST(HiF8, TensorFunctionsMatchTheScalarCodec) {
  const std::vector<float> x = whole_range_values(40001, 10);  // odd length: vector tails run
  const at::Tensor xt = at::from_blob(const_cast<float*>(x.data()), {40001}, at::kFloat).clone();
  const at::Tensor codes = osp::quant::hif8_encode(xt);
  ASSERT_EQ(codes.scalar_type(), at::kByte);
  const uint8_t* c = codes.data_ptr<uint8_t>();
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(c[i], hif8_encode(x[i])) << x[i];
  const at::Tensor decoded = osp::quant::hif8_decode(codes);
  const at::Tensor rounded = osp::quant::hif8_round(xt);
  EXPECT_TRUE(at::equal(decoded.nan_to_num(0.5), rounded.nan_to_num(0.5)));
  EXPECT_TRUE(at::equal(osp::quant::hif8_decode(codes, at::kBFloat16).to(at::kFloat).nan_to_num(0.5),
                        decoded.nan_to_num(0.5)));

  // bf16 inputs are widened exactly, so they encode like their float32 values.
  const at::Tensor finite = xt.clamp(-1e30, 1e30).nan_to_num(0.0);
  const at::Tensor b = finite.to(at::kBFloat16);
  EXPECT_TRUE(at::equal(osp::quant::hif8_encode(b), osp::quant::hif8_encode(b.to(at::kFloat))));
  const at::Tensor rb = osp::quant::hif8_round(b);
  EXPECT_EQ(rb.scalar_type(), at::kBFloat16);
  EXPECT_TRUE(at::equal(rb.to(at::kFloat), osp::quant::hif8_round(b.to(at::kFloat))));
  EXPECT_THROW(osp::quant::hif8_encode(at::ones({3}, at::kInt)), c10::Error);
}

}  // namespace
