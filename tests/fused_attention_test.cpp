// Fused CPU attention (src/osp/attention/fused_cpu.*) against an explicit float64 softmax
// attention, for every ISA this machine runs, with variable key / query lengths.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <ostream>
#include <vector>

#include "reference_attention.h"
#include "test_util.h"
#include "osp/attention/dense.h"
#include "osp/attention/fused_cpu.h"
#include "osp/core/error.h"
#include "osp/nn/bf16.h"

namespace {

using osp::attention::CpuIsa;
using osp::attention::fused_attention;
using osp::test::kBf16;
using osp::test::kFp32;
using osp::test::randn;
using osp::test::rel_error;

// float64 reference on the valid prefixes: keys j < key_lengths[b]; rows i ≥ query_lengths[b] zero.
at::Tensor reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale,
                     const std::vector<int64_t>& key_lengths = {}, const std::vector<int64_t>& query_lengths = {}) {
  const at::Tensor key_mask = key_lengths.empty() ? at::Tensor() : osp::test::prefix_mask(key_lengths, k.size(1));
  at::Tensor out = osp::test::masked_reference_attention(q, k, v, key_mask, scale);
  if (!query_lengths.empty())
    out = out * osp::test::prefix_mask(query_lengths, q.size(1)).view({q.size(0), q.size(1), 1, 1});
  return out;
}

at::Tensor rounded(const at::Tensor& x) { return osp::nn::rounded_to_bf16(x); }

at::Tensor lengths_tensor(const std::vector<int64_t>& lengths) {
  return at::tensor(at::ArrayRef<int64_t>(lengths), at::TensorOptions().dtype(at::kLong));
}

std::vector<CpuIsa> available_isas() {
  std::vector<CpuIsa> isas{CpuIsa::kScalar};
  for (CpuIsa isa : {CpuIsa::kAvx2, CpuIsa::kAvx512, CpuIsa::kAvx512Bf16, CpuIsa::kAmx})
    if (osp::attention::cpu_isa_available(isa)) isas.push_back(isa);
  return isas;
}

struct Case {
  int64_t B, Lq, Lk, N, D;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << "B=" << c.B << " Lq=" << c.Lq << " Lk=" << c.Lk << " N=" << c.N << " D=" << c.D;
}

class FusedAttention : public ::testing::TestWithParam<Case> {};

TEST_P(FusedAttention, MatchesFloat64Reference) {
  const Case c = GetParam();
  const at::Tensor q = randn({c.B, c.Lq, c.N, c.D}, 11, 1.5), k = randn({c.B, c.Lk, c.N, c.D}, 12, 1.5);
  const at::Tensor v = randn({c.B, c.Lk, c.N, c.D}, 13);
  const double scale = 1.0 / std::sqrt(static_cast<double>(c.D));
  const at::Tensor expected = reference(q, k, v, scale);
  const at::Tensor expected_bf16 = reference(rounded(q), rounded(k), rounded(v), scale);
  for (CpuIsa isa : available_isas()) {
    SCOPED_TRACE(osp::attention::cpu_isa_name(isa));
    const at::Tensor out = fused_attention(q, k, v, scale, kFp32, {}, {}, isa);
    ASSERT_EQ(out.sizes(), q.sizes());
    ASSERT_EQ(out.scalar_type(), at::kFloat);
    EXPECT_LE(rel_error(out, expected), 1e-5);
    // The scalar path is ~10x slower: its bf16 mode is covered by the shorter cases.
    if (isa == CpuIsa::kScalar && c.Lq * c.Lk > (1 << 20)) continue;

    const at::Tensor bf16 = fused_attention(q, k, v, scale, kBf16, {}, {}, isa);
    EXPECT_LE(rel_error(bf16, expected), 2e-2);
    EXPECT_LE(rel_error(bf16, expected_bf16), 4e-3);  // one bf16 rounding of the output
    EXPECT_TRUE(at::equal(bf16, bf16.to(at::kBFloat16).to(at::kFloat)));
    // Real bf16 tensors give the same numbers as bf16-valued float32 ones.
    const at::Tensor native = fused_attention(q.to(at::kBFloat16), k.to(at::kBFloat16), v.to(at::kBFloat16), scale,
                                              kBf16, {}, {}, isa);
    EXPECT_TRUE(at::equal(native, bf16));
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, FusedAttention,
                         ::testing::Values(Case{2, 1, 1, 2, 64},      // single token
                                           Case{1, 7, 7, 3, 128},     // below one micro-kernel row block
                                           Case{2, 128, 128, 2, 64},  // exactly one key tile
                                           Case{1, 1000, 1000, 2, 128},
                                           Case{1, 4099, 4099, 1, 64},  // ragged last query and key tiles
                                           Case{1, 130, 4099, 1, 128},  // long keys, several tiles
                                           Case{2, 1000, 7, 2, 128},    // cross-attention Lq > Lk
                                           Case{1, 7, 1000, 3, 64},     // cross-attention Lq < Lk
                                           Case{1, 33, 20, 2, 40}));    // a head dim off the vector width

TEST(FusedAttention, VariableLengthsMatchReference) {
  // Padded batch: row 0 full, row 1 shorter, row 2 one token, row 3 empty.
  const int64_t B = 4, L = 300, N = 2;
  const std::vector<int64_t> lengths{300, 131, 1, 0};
  for (int64_t D : {64, 128}) {
    const at::Tensor q = randn({B, L, N, D}, 21, 1.5), k = randn({B, L, N, D}, 22, 1.5), v = randn({B, L, N, D}, 23);
    const double scale = 1.0 / std::sqrt(static_cast<double>(D));
    const at::Tensor both = reference(q, k, v, scale, lengths, lengths);
    const at::Tensor keys_only = reference(q, k, v, scale, lengths, {});
    const at::Tensor both_bf16 = reference(rounded(q), rounded(k), rounded(v), scale, lengths, lengths);
    for (CpuIsa isa : available_isas()) {
      SCOPED_TRACE(osp::attention::cpu_isa_name(isa) + " d=" + std::to_string(D));
      const at::Tensor len = lengths_tensor(lengths);
      const at::Tensor out = fused_attention(q, k, v, scale, kFp32, len, len, isa);
      EXPECT_LE(rel_error(out, both), 1e-5);
      // Padded rows exactly zero; row 3 (no keys) entirely zero.
      EXPECT_EQ(out[1].narrow(0, 131, L - 131).abs().max().item<float>(), 0.0f);
      EXPECT_EQ(out[3].abs().max().item<float>(), 0.0f);
      EXPECT_LE(rel_error(fused_attention(q, k, v, scale, kFp32, len, {}, isa), keys_only), 1e-5);
      const at::Tensor bf16 = fused_attention(q, k, v, scale, kBf16, len.to(at::kInt), len, isa);
      EXPECT_LE(rel_error(bf16, both), 2e-2);
      EXPECT_LE(rel_error(bf16, both_bf16), 4e-3);
    }
  }
}

TEST(FusedAttention, CrossAttentionWithKeyLengths) {
  // Video queries against padded text keys: every query valid, keys limited per row.
  const int64_t B = 2, Lq = 777, Lk = 512, N = 2, D = 128;
  const std::vector<int64_t> key_lengths{512, 23};
  const at::Tensor q = randn({B, Lq, N, D}, 31), k = randn({B, Lk, N, D}, 32), v = randn({B, Lk, N, D}, 33);
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  const at::Tensor expected = reference(q, k, v, scale, key_lengths, {});
  for (CpuIsa isa : available_isas()) {
    SCOPED_TRACE(osp::attention::cpu_isa_name(isa));
    EXPECT_LE(rel_error(fused_attention(q, k, v, scale, kFp32, lengths_tensor(key_lengths), {}, isa), expected), 1e-5);
  }
}

TEST(FusedAttention, ScalarAndSimdPathsAgree) {
  const at::Tensor q = randn({1, 517, 4, 128}, 41, 2.0), k = randn({1, 517, 4, 128}, 42, 2.0);
  const at::Tensor v = randn({1, 517, 4, 128}, 43);
  const double scale = 1.0 / std::sqrt(128.0);
  const at::Tensor scalar = fused_attention(q, k, v, scale, kFp32, {}, {}, CpuIsa::kScalar);
  const std::vector<CpuIsa> isas = available_isas();
  if (isas.size() == 1) GTEST_SKIP() << "no SIMD ISA available on this CPU";
  for (size_t i = 1; i < isas.size(); ++i) {
    SCOPED_TRACE(osp::attention::cpu_isa_name(isas[i]));
    EXPECT_LE(rel_error(fused_attention(q, k, v, scale, kFp32, {}, {}, isas[i]), scalar), 2e-6);
  }
  // kAuto: AMX where usable, else the widest float kernel (the bf16 dot-product kernel only when
  // asked for by name).
  std::vector<CpuIsa> automatic = isas;
  automatic.erase(std::remove(automatic.begin(), automatic.end(), CpuIsa::kAvx512Bf16), automatic.end());
  EXPECT_EQ(osp::attention::best_cpu_isa(), automatic.back());
}

TEST(FusedAttention, MatchesDenseAttentionAndStridedInputs) {
  // q, k, v as views into one [B, L, 3, N, D] projection: strided along L, no copies needed.
  const at::Tensor qkv = randn({2, 200, 3, 3, 64}, 51);
  const at::Tensor q = qkv.select(2, 0), k = qkv.select(2, 1), v = qkv.select(2, 2);
  const double scale = 0.125;
  const at::Tensor dense = osp::attention::math_attention(q, k, v, scale, kFp32);
  EXPECT_LE(rel_error(fused_attention(q, k, v, scale, kFp32), dense), 1e-5);
  EXPECT_LE(rel_error(fused_attention(q, k, v, scale, kBf16), osp::attention::math_attention(q, k, v, scale, kBf16)),
            4e-3);
  // Non-unit stride along D is copied internally.
  const at::Tensor qt = q.transpose(2, 3).contiguous().transpose(2, 3);
  EXPECT_TRUE(at::equal(fused_attention(qt, k, v, scale, kFp32), fused_attention(q, k, v, scale, kFp32)));
}

TEST(FusedAttention, ExtremeLogitsStayFinite) {
  // Large scores: the online softmax must rescale without overflow.
  const at::Tensor q = randn({1, 64, 1, 64}, 61, 30.0), k = randn({1, 300, 1, 64}, 62, 30.0);
  const at::Tensor v = randn({1, 300, 1, 64}, 63);
  const at::Tensor expected = reference(q, k, v, 0.125);
  for (CpuIsa isa : available_isas()) {
    SCOPED_TRACE(osp::attention::cpu_isa_name(isa));
    const at::Tensor out = fused_attention(q, k, v, 0.125, kFp32, {}, {}, isa);
    EXPECT_TRUE(at::isfinite(out).all().item<bool>());
    EXPECT_LE(rel_error(out, expected), 1e-5);
  }
}

TEST(FusedAttention, NanPropagates) {
  // A NaN query element poisons its own output row (as dense attention does), nothing else.
  at::Tensor q = randn({1, 20, 1, 64}, 81);
  const at::Tensor k = randn({1, 30, 1, 64}, 82), v = randn({1, 30, 1, 64}, 83);
  q[0][5][0][3] = NAN;
  for (CpuIsa isa : available_isas()) {
    SCOPED_TRACE(osp::attention::cpu_isa_name(isa));
    const at::Tensor out = fused_attention(q, k, v, 0.125, kFp32, {}, {}, isa);
    EXPECT_TRUE(at::isnan(out[0][5]).all().item<bool>());
    EXPECT_EQ(at::isnan(out).sum().item<int64_t>(), 64);
  }
}

TEST(FusedAttention, RejectsBadInput) {
  const at::Tensor q = randn({2, 8, 2, 64}, 71), k = randn({2, 9, 2, 64}, 72);
  EXPECT_THROW(fused_attention(q, k, k.narrow(1, 0, 8), 0.125, kFp32), osp::Error);
  EXPECT_THROW(fused_attention(q, k.narrow(3, 0, 32), k.narrow(3, 0, 32), 0.125, kFp32), osp::Error);
  EXPECT_THROW(fused_attention(q.flatten(2), k, k, 0.125, kFp32), osp::Error);
  EXPECT_THROW(fused_attention(q, k, k, 0.125, kFp32, lengths_tensor({9, 10})), osp::Error);
  EXPECT_THROW(fused_attention(q, k, k, 0.125, kFp32, lengths_tensor({9})), osp::Error);
  EXPECT_THROW(fused_attention(q, k, k, 0.125, kFp32, lengths_tensor({-1, 2})), osp::Error);
  EXPECT_THROW(fused_attention(q, k, k, 0.125, kFp32, {}, lengths_tensor({9, 8})), osp::Error);
  EXPECT_THROW(fused_attention(q, k, k, 0.125, kFp32, at::ones({2}, at::kFloat)), osp::Error);
  for (CpuIsa isa : {CpuIsa::kAvx2, CpuIsa::kAvx512, CpuIsa::kAvx512Bf16, CpuIsa::kAmx}) {
    if (!osp::attention::cpu_isa_available(isa)) {
      EXPECT_THROW(fused_attention(q, k, k, 0.125, kFp32, {}, {}, isa), osp::Error);
    }
  }
  // Empty shapes are fine.
  EXPECT_EQ(fused_attention(q.narrow(1, 0, 0), k, k, 0.125, kFp32).numel(), 0);
  EXPECT_EQ(fused_attention(q, k.narrow(1, 0, 0), k.narrow(1, 0, 0), 0.125, kFp32).abs().max().item<float>(), 0.0f);
}

}  // namespace
