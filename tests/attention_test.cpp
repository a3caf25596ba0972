// Dense attention (src/osp/attention) against an explicit float64 softmax attention.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "reference_attention.h"
#include "test_util.h"
#include "osp/attention/dense.h"
#include "osp/nn/bf16.h"

namespace {

using osp::Precision;
using osp::attention::DenseKernel;
using osp::test::kBf16;
using osp::test::kFp32;
using osp::test::randn;
using osp::test::rel_error;



// o[b, i, n, :] = Σ_j softmax_j(scale · q[b,i,n]·k[b,j,n]) v[b, j, n, :], loops in float64.
at::Tensor reference_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale) {
  const int64_t B = q.size(0), Lq = q.size(1), N = q.size(2), D = q.size(3), Lk = k.size(1);
  const at::Tensor qd = q.to(at::kDouble), kd = k.to(at::kDouble), vd = v.to(at::kDouble);
  const auto qa = qd.accessor<double, 4>(), ka = kd.accessor<double, 4>(), va = vd.accessor<double, 4>();
  at::Tensor out = at::zeros({B, Lq, N, D}, at::kDouble);
  auto oa = out.accessor<double, 4>();
  std::vector<double> logits(static_cast<size_t>(Lk));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < Lq; ++i) {
        double max_logit = -INFINITY;
        for (int64_t j = 0; j < Lk; ++j) {
          double dot = 0;
          for (int64_t d = 0; d < D; ++d) dot += qa[b][i][n][d] * ka[b][j][n][d];
          logits[j] = dot * scale;
          max_logit = std::max(max_logit, logits[j]);
        }
        double total = 0;
        for (int64_t j = 0; j < Lk; ++j) total += (logits[j] = std::exp(logits[j] - max_logit));
        for (int64_t j = 0; j < Lk; ++j)
          for (int64_t d = 0; d < D; ++d) oa[b][i][n][d] += logits[j] / total * va[b][j][n][d];
      }
  return out;
}

struct Case {
  int64_t B, Lq, Lk, N, D;
};

class DenseAttention : public ::testing::TestWithParam<Case> {};

TEST_P(DenseAttention, MathPathMatchesFloat64Reference) {
  const Case c = GetParam();
  const at::Tensor q = randn({c.B, c.Lq, c.N, c.D}, 1, 1.5), k = randn({c.B, c.Lk, c.N, c.D}, 2, 1.5);
  const at::Tensor v = randn({c.B, c.Lk, c.N, c.D}, 3);
  const double scale = 1.0 / std::sqrt(static_cast<double>(c.D));
  const at::Tensor expected = reference_attention(q, k, v, scale);

  const at::Tensor whole = osp::attention::math_attention(q, k, v, scale, kFp32);
  EXPECT_LE(rel_error(whole, expected), 1e-6);
  // A budget of 3 score rows forces many chunks, including a ragged last one.
  const int64_t budget = 3 * c.Lk * static_cast<int64_t>(sizeof(float));
  EXPECT_EQ(osp::attention::chunk_rows(c.Lq, c.Lk, budget), std::min<int64_t>(3, c.Lq));
  const at::Tensor chunked = osp::attention::math_attention(q, k, v, scale, kFp32, budget);
  EXPECT_LE(rel_error(chunked, expected), 1e-6);
  EXPECT_LE(rel_error(osp::attention::attention(q, k, v, scale, kFp32), expected), 1e-6);

  // bf16: the reference on bf16-rounded operands, output rounded.
  const at::Tensor expected_bf16 = reference_attention(osp::nn::rounded_to_bf16(q), osp::nn::rounded_to_bf16(k),
                                                       osp::nn::rounded_to_bf16(v), scale);
  const at::Tensor bf16 = osp::attention::math_attention(q, k, v, scale, kBf16, budget);
  EXPECT_LE(rel_error(bf16, expected_bf16), 4e-3);  // one bf16 rounding of the output
  EXPECT_TRUE(at::equal(bf16, bf16.to(at::kBFloat16).to(at::kFloat)));
  EXPECT_LE(rel_error(osp::attention::attention(q, k, v, scale, kBf16), expected_bf16), 4e-3);
}

INSTANTIATE_TEST_SUITE_P(Shapes, DenseAttention,
                         ::testing::Values(Case{1, 17, 17, 2, 16},   // self-attention
                                           Case{2, 13, 16, 3, 8},    // cross-attention (Lq ≠ Lk)
                                           Case{1, 40, 9, 1, 32}));

TEST(DenseAttentionKernels, MathAndAutoAgreeOnStridedInputs) {
  // Heads sliced out of a wider projection: non-contiguous [B, L, N, D] views.
  const at::Tensor qkv = randn({1, 20, 3, 2, 16}, 4);
  const at::Tensor q = qkv.select(2, 0), k = qkv.select(2, 1), v = qkv.select(2, 2);
  const at::Tensor expected = reference_attention(q, k, v, 0.25);
  EXPECT_LE(rel_error(osp::attention::attention(q, k, v, 0.25, kFp32, DenseKernel::kMath), expected), 1e-6);
  // kAuto is the fused kernel on CPU; its polynomial exp2 gives ~1e-6 relative.
  EXPECT_LE(rel_error(osp::attention::attention(q, k, v, 0.25, kFp32, DenseKernel::kAuto), expected), 1e-5);
  EXPECT_LE(rel_error(osp::attention::attention(q, k, v, 0.25, kFp32, DenseKernel::kFused), expected), 1e-5);
}

TEST(DenseAttentionKernels, EveryKernelHonoursScatteredMasksAndSharedKeyRows) {
  // The Skiparse shapes: B = 4 query rows over Bk = 2 K/V rows (row r uses r mod 2), padding keys
  // scattered through the sequence (not a suffix), one row with no valid key at all.
  const at::Tensor q = randn({4, 37, 2, 24}, 11), k = randn({2, 29, 2, 24}, 12), v = randn({2, 29, 2, 24}, 13);
  at::Tensor mask = randn({4, 29}, 14).gt(-0.3);
  mask[2].fill_(false);
  const double scale = 1.0 / std::sqrt(24.0);
  const at::Tensor expected = osp::test::masked_reference_attention(q, k, v, mask, scale);
  for (const DenseKernel kernel : {DenseKernel::kMath, DenseKernel::kAuto, DenseKernel::kFused, DenseKernel::kSdpa}) {
    const at::Tensor out = osp::attention::attention(q, k, v, scale, kFp32, kernel, mask);
    EXPECT_LE(rel_error(out, expected), 1e-5) << "kernel " << static_cast<int>(kernel);
    EXPECT_EQ(out[2].abs().max().item<float>(), 0.0f) << "kernel " << static_cast<int>(kernel);
  }
  // Without a mask, shared rows alone.
  const at::Tensor unmasked = osp::test::masked_reference_attention(q, k, v, {}, scale);
  EXPECT_LE(rel_error(osp::attention::attention(q, k, v, scale, kFp32, DenseKernel::kAuto), unmasked), 1e-5);
}

// bf16 through the kernel each build picks (the fused kernel; SDPA under LibTorch ≥ 2.1 on a CPU
// with bf16 dot products): within one bf16 rounding of the output of the float64 attention of the
// bf16-rounded operands, the bound of the fused kernel's own bf16 test, at a length where SDPA
// uses its blocked (flash) kernel.
TEST(DenseAttentionKernels, AutoBf16MatchesTheFloat64ReferenceOfRoundedOperands) {
  const at::Tensor q = randn({1, 300, 2, 64}, 21), k = randn({1, 300, 2, 64}, 22), v = randn({1, 300, 2, 64}, 23);
  const double scale = 1.0 / std::sqrt(64.0);
  const auto rounded = [](const at::Tensor& x) { return osp::nn::rounded_to_bf16(x); };
  const at::Tensor expected = reference_attention(rounded(q), rounded(k), rounded(v), scale);
  const at::Tensor out = osp::attention::attention(q, k, v, scale, kBf16, DenseKernel::kAuto);
  EXPECT_LE(rel_error(out, expected), 4e-3);
  EXPECT_TRUE(at::equal(out, out.to(at::kBFloat16).to(at::kFloat)));  // bf16 values
  // Shared K/V rows (the Skiparse layout) take the same route.
  const at::Tensor q2 = randn({2, 300, 2, 64}, 24);
  const at::Tensor shared = osp::attention::attention(q2, k, v, scale, kBf16, DenseKernel::kAuto);
  EXPECT_LE(rel_error(shared[1], reference_attention(rounded(q2[1].unsqueeze(0)), rounded(k), rounded(v), scale)[0]), 4e-3);
}

}  // namespace
