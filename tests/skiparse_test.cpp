// Skiparse-2D (src/osp/attention/skiparse, sparse execution in models/dit): the layouts against
// index maps written from the membership rules of docs/skiparse.md "Layouts", masked attention, and
// the sparse model against the float64 reference DiT run with the equivalent dense per-block masks.
#include <gtest/gtest.h>

#include <c10/core/InferenceMode.h>

#include <array>
#include <cmath>
#include <ostream>
#include <vector>

#include "reference_attention.h"
#include "reference_dit.h"
#include "test_util.h"
#include "osp/attention/dense.h"
#include "osp/attention/fused_cpu.h"
#include "osp/attention/skiparse.h"
#include "osp/core/error.h"
#include "osp/models/dit/flops.h"
#include "osp/models/dit/model.h"
#include "osp/nn/rope.h"

namespace {

using osp::Precision;
using osp::attention::SkiparseGeometry;
using osp::dit::DiTConfig;
using osp::dit::WanDiT;
using osp::test::Inputs;
using osp::test::kBf16;
using osp::test::kFp32;
using osp::test::randn;
using osp::test::masked_reference_attention;
using osp::test::rel_error;
namespace sk = osp::attention;

// ---------------------------------------------------------------------------------------------
// Geometry ("Padding and validity" worked example)

TEST(SkiparseGeometry, MatchesSpecExample) {
  const SkiparseGeometry g = SkiparseGeometry::make({21, 45, 80}, 2);
  EXPECT_EQ(g.Hp, 48);
  EXPECT_EQ(g.Wp, 80);
  EXPECT_EQ(g.padded_tokens(), 80640);
  EXPECT_EQ(g.padded_tokens() - g.tokens(), 5040);
  EXPECT_EQ(g.n, 20160);
  EXPECT_TRUE(g.padded());
  // Valid tokens per sub-sequence: 19,320 for p (p1) = 0, 18,480 for p (p1) = 1, two of each.
  for (int64_t s = 0; s < 4; ++s) {
    EXPECT_EQ(g.valid_tokens_token_layout(s), s / 2 == 0 ? 19320 : 18480) << s;
    EXPECT_EQ(g.valid_tokens_group_layout(s), s / 2 == 0 ? 19320 : 18480) << s;
  }
  EXPECT_FALSE(SkiparseGeometry::make({21, 48, 80}, 2).padded());  // "768P native"
  const SkiparseGeometry g480 = SkiparseGeometry::make({21, 30, 52}, 2);
  EXPECT_EQ(g480.Hp, 32);
  EXPECT_EQ(g480.padded_tokens(), 34944);
  EXPECT_THROW(SkiparseGeometry::make({1, 0, 4}, 2), osp::Error);
  EXPECT_THROW(SkiparseGeometry::make({1, 4, 4}, 0), osp::Error);
}

// "Cost": 25.01% of a full block's self-attention core per sparse block at 720p (varlen),
// 40% for the released 14B stack (8 full + 32 sparse) on an unpadded grid.
TEST(SkiparseFlops, MatchSpecCost) {
  using osp::dit::BlockKind;
  const DiTConfig c = DiTConfig::preset("osp-next-14b");
  const std::array<int64_t, 3> grid720{21, 45, 80}, grid768{21, 48, 80};
  const double full = osp::dit::self_attention_core_flops(c, grid720, BlockKind::kFull);
  EXPECT_DOUBLE_EQ(full, 4.0 * 75600.0 * 75600.0 * 5120.0);
  for (const BlockKind kind : {BlockKind::kToken, BlockKind::kGroup}) {
    const double sparse = osp::dit::self_attention_core_flops(c, grid720, kind);
    EXPECT_DOUBLE_EQ(sparse, 4.0 * 5120.0 * (2.0 * 19320.0 * 19320.0 + 2.0 * 18480.0 * 18480.0));
    EXPECT_NEAR(sparse / full, 0.2501, 5e-5);
  }
  double stack = 0;
  for (const BlockKind kind : osp::dit::block_schedule(c)) stack += osp::dit::self_attention_core_flops(c, grid768, kind);
  EXPECT_NEAR(stack / (40 * osp::dit::self_attention_core_flops(c, grid768, BlockKind::kFull)), 0.40, 1e-12);
  // Totals: the same as docs/dit.md "FLOP count" for plain Wan; sparse configs save exactly the core difference.
  const DiTConfig wan = DiTConfig::preset("wan2.1-t2v-14b");
  EXPECT_DOUBLE_EQ(osp::dit::forward_flops(wan, grid720), osp::dit::forward_flops(wan, int64_t{75600}));
  const double saved = 0.6 * 40 * osp::dit::self_attention_core_flops(c, grid768, BlockKind::kFull);
  EXPECT_NEAR(osp::dit::forward_flops(wan, grid768) - osp::dit::forward_flops(c, grid768), saved, 1e-9 * saved);
}

// ---------------------------------------------------------------------------------------------
// Layouts on index grids

struct LayoutCase {
  int64_t b, T, H, W, P;
};

void PrintTo(const LayoutCase& c, std::ostream* os) {
  *os << "b=" << c.b << " grid " << c.T << "x" << c.H << "x" << c.W << " P=" << c.P;
}

class SkiparseLayouts : public ::testing::TestWithParam<LayoutCase> {};

// Padded index grid [b, N, 2]: channel 0 = i·N + ℓ + 1 (ℓ the padded flat index), channel 1 its
// negative (trailing channels travel along).
at::Tensor index_grid(int64_t b, const SkiparseGeometry& g) {
  const int64_t N = g.padded_tokens();
  const at::Tensor ids = at::arange(1, b * N + 1, at::kLong).view({b, N, 1});
  return at::cat({ids, -ids}, 2);
}

// Expected layouts from the membership rules (docs/skiparse.md "Layouts"), written with explicit loops: value of
// (row, position) for every token (t, y, x) of sample i on the padded grid.
struct ExpectedMaps {
  at::Tensor token, group;  // [P²·b, n] of channel-0 ids
};

ExpectedMaps expected_maps(int64_t b, const SkiparseGeometry& g) {
  const int64_t P = g.P, N = g.padded_tokens();
  ExpectedMaps e{at::full({P * P * b, g.n}, -1, at::kLong), at::full({P * P * b, g.n}, -1, at::kLong)};
  auto ta = e.token.accessor<int64_t, 2>(), ga = e.group.accessor<int64_t, 2>();
  const int64_t h = g.Hp / P, w = g.Wp / P, hh_n = g.Hp / (P * P), ww_n = g.Wp / (P * P);
  for (int64_t i = 0; i < b; ++i)
    for (int64_t t = 0; t < g.T; ++t)
      for (int64_t y = 0; y < g.Hp; ++y)
        for (int64_t x = 0; x < g.Wp; ++x) {
          const int64_t id = i * N + (t * g.Hp + y) * g.Wp + x + 1;
          // token: s = (y mod P)·P + (x mod P), order (t, ⌊y/P⌋, ⌊x/P⌋).
          const int64_t s_tok = (y % P) * P + (x % P);
          ta[s_tok * b + i][(t * h + y / P) * w + x / P] = id;
          // group: s = (⌊y/P⌋ mod P)·P + (⌊x/P⌋ mod P), order (t, hh, p2, ww, q2).
          const int64_t s_grp = ((y / P) % P) * P + (x / P) % P;
          const int64_t hh = y / (P * P), p2 = y % P, ww = x / (P * P), q2 = x % P;
          ga[s_grp * b + i][(((t * hh_n + hh) * P + p2) * ww_n + ww) * P + q2] = id;
        }
  return e;
}

TEST_P(SkiparseLayouts, MatchMembershipRules) {
  const LayoutCase c = GetParam();
  const SkiparseGeometry g = SkiparseGeometry::make({c.T, c.H, c.W}, c.P);
  const int64_t P2 = c.P * c.P;
  EXPECT_EQ(g.Hp % P2, 0);
  EXPECT_EQ(g.Wp % P2, 0);
  EXPECT_LT(g.Hp - c.H, P2);
  EXPECT_LT(g.Wp - c.W, P2);
  const at::Tensor x = index_grid(c.b, g);
  const ExpectedMaps e = expected_maps(c.b, g);
  ASSERT_EQ(e.token.min().item<int64_t>(), 1);  // every slot written once (a bijection)
  ASSERT_EQ(e.group.min().item<int64_t>(), 1);

  const at::Tensor token = sk::to_token_layout(x, g), group = sk::to_group_layout(x, g);
  ASSERT_EQ(token.sizes(), (std::vector<int64_t>{P2 * c.b, g.n, 2}));
  ASSERT_EQ(group.sizes(), (std::vector<int64_t>{P2 * c.b, g.n, 2}));
  EXPECT_TRUE(token.is_contiguous());
  EXPECT_TRUE(at::equal(token.select(2, 0), e.token));
  EXPECT_TRUE(at::equal(token.select(2, 1), -e.token));
  EXPECT_TRUE(at::equal(group.select(2, 0), e.group));
  EXPECT_TRUE(at::equal(group.select(2, 1), -e.group));

  // The switch: token → group, self-inverse; reverses undo the layouts.
  EXPECT_TRUE(at::equal(sk::switch_layout(token, g), group));
  EXPECT_TRUE(at::equal(sk::switch_layout(group, g), token));
  EXPECT_TRUE(at::equal(sk::switch_layout(sk::switch_layout(token, g), g), token));
  EXPECT_TRUE(at::equal(sk::from_token_layout(token, g), x));
  EXPECT_TRUE(at::equal(sk::from_group_layout(group, g), x));
  // 2-D [b, N] tensors (masks) go through the same maps.
  EXPECT_TRUE(at::equal(sk::to_token_layout(x.select(2, 0), g), e.token));
  EXPECT_TRUE(at::equal(sk::to_group_layout(x.select(2, 0).contiguous(), g), e.group));
}

TEST_P(SkiparseLayouts, PadCropAndValidity) {
  const LayoutCase c = GetParam();
  const SkiparseGeometry g = SkiparseGeometry::make({c.T, c.H, c.W}, c.P);
  const int64_t L = g.tokens(), N = g.padded_tokens();
  const at::Tensor x = at::arange(1, c.b * L + 1, at::kLong).view({c.b, L, 1}).to(at::kFloat);
  const at::Tensor padded = sk::pad(x, g);
  ASSERT_EQ(padded.sizes(), (std::vector<int64_t>{c.b, N, 1}));
  const at::Tensor valid = sk::validity_mask(g);
  ASSERT_EQ(valid.sizes(), (std::vector<int64_t>{1, N}));
  auto pa = padded.accessor<float, 3>();
  auto va = valid.accessor<bool, 2>();
  for (int64_t i = 0; i < c.b; ++i)
    for (int64_t t = 0; t < g.T; ++t)
      for (int64_t y = 0; y < g.Hp; ++y)
        for (int64_t xx = 0; xx < g.Wp; ++xx) {
          const int64_t l = (t * g.Hp + y) * g.Wp + xx;
          const bool inside = y < c.H && xx < c.W;
          const float expected = inside ? static_cast<float>(i * L + (t * c.H + y) * c.W + xx + 1) : 0.f;
          ASSERT_EQ(pa[i][l][0], expected) << "sample " << i << " (" << t << ", " << y << ", " << xx << ")";
          ASSERT_EQ(va[0][l], inside);
        }
  EXPECT_TRUE(at::equal(sk::crop(padded, g), x));
  EXPECT_TRUE(sk::pad(x, g, 7.0).masked_select(valid.unsqueeze(-1).logical_not()).eq(7).all().item<bool>());

  // Layout masks: row s·b + i is sub-sequence s's validity, equal to the moved validity mask and
  // to the padding positions of the padded index grid.
  const at::Tensor token_mask = sk::token_layout_mask(g, c.b), group_mask = sk::group_layout_mask(g, c.b);
  if (!g.padded()) {
    EXPECT_FALSE(token_mask.defined());
    EXPECT_FALSE(group_mask.defined());
    return;
  }
  ASSERT_EQ(token_mask.sizes(), (std::vector<int64_t>{c.P * c.P * c.b, g.n}));
  EXPECT_TRUE(at::equal(token_mask, sk::to_token_layout(padded, g).select(2, 0).ne(0)));
  EXPECT_TRUE(at::equal(group_mask, sk::to_group_layout(padded, g).select(2, 0).ne(0)));
  for (int64_t s = 0; s < c.P * c.P; ++s) {
    EXPECT_EQ(token_mask[s * c.b].sum().item<int64_t>(), g.valid_tokens_token_layout(s)) << s;
    EXPECT_EQ(group_mask[s * c.b].sum().item<int64_t>(), g.valid_tokens_group_layout(s)) << s;
  }
}

INSTANTIATE_TEST_SUITE_P(Grids, SkiparseLayouts,
                         ::testing::Values(LayoutCase{1, 2, 6, 10, 2},   // padded to 8 × 12
                                           LayoutCase{2, 1, 3, 5, 2},    // H, W < P²
                                           LayoutCase{2, 2, 4, 8, 2},    // no padding
                                           LayoutCase{1, 2, 7, 11, 3},   // padded to 9 × 18
                                           LayoutCase{2, 1, 2, 10, 3},   // H < P: empty sub-sequences
                                           LayoutCase{2, 3, 9, 9, 3}));  // no padding, P = 3

// ---------------------------------------------------------------------------------------------
// Masked attention and shared keys (the attention interface the sparse blocks use)

TEST(SkiparseAttention, KeyMaskAndSharedKeysMatchReference) {
  const int64_t B = 6, Bk = 2, L = 13, N = 2, D = 8;
  const at::Tensor q = randn({B, L, N, D}, 21, 1.5), k = randn({B, L, N, D}, 22, 1.5), v = randn({B, L, N, D}, 23);
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  at::Tensor mask = randn({B, L}, 24).gt(0.0);
  mask[1].fill_(true);
  mask[4].fill_(false);  // a row without valid keys: zero output
  const at::Tensor expected = masked_reference_attention(q, k, v, mask, scale);
  for (const int64_t budget : {int64_t{64} << 20, 3 * L * int64_t{4}}) {
    const at::Tensor got = sk::math_attention(q, k, v, scale, kFp32, budget, mask);
    EXPECT_LE(rel_error(got, expected), 1e-6);
    EXPECT_TRUE(at::equal(got[4], at::zeros_like(got[4])));
  }
  EXPECT_LE(rel_error(sk::attention(q, k, v, scale, kFp32, sk::DenseKernel::kAuto, mask), expected), 1e-6);
  // Garbage (even NaN) in masked keys/values never reaches the output.
  at::Tensor k_bad = k.clone(), v_bad = v.clone();
  k_bad.masked_fill_(mask.logical_not().view({B, L, 1, 1}), NAN);
  v_bad.masked_fill_(mask.logical_not().view({B, L, 1, 1}), 1e30);
  EXPECT_LE(rel_error(sk::attention(q, k_bad, v_bad, scale, kFp32, sk::DenseKernel::kAuto, mask), expected), 1e-6);
  // An expanded (stride-0) mask works like its copy.
  const at::Tensor row_mask = mask[0].unsqueeze(0).expand({B, L});
  EXPECT_LE(rel_error(sk::attention(q, k, v, scale, kFp32, sk::DenseKernel::kAuto, row_mask),
                      masked_reference_attention(q, k, v, row_mask.contiguous(), scale)),
            1e-6);
  // Keys/values of Bk samples shared by B = 3·Bk query rows: row r uses r mod Bk.
  const at::Tensor ks = k.narrow(0, 0, Bk), vs = v.narrow(0, 0, Bk);
  EXPECT_LE(rel_error(sk::attention(q, ks, vs, scale, kFp32), masked_reference_attention(q, ks, vs, at::Tensor(), scale)), 1e-6);
  EXPECT_LE(rel_error(sk::attention(q, ks, vs, scale, kBf16), masked_reference_attention(q, ks, vs, at::Tensor(), scale)), 2e-2);
  EXPECT_ANY_THROW(sk::attention(q, k.narrow(0, 0, 4), v.narrow(0, 0, 4), scale, kFp32));  // 6 % 4 ≠ 0
  EXPECT_ANY_THROW(sk::attention(q, k, v, scale, kFp32, sk::DenseKernel::kAuto, mask.narrow(1, 0, 5)));
}

// The varlen form: valid tokens moved to a prefix, the fused kernel with key/query lengths, moved
// back — equal to the masked attention on the real query rows; padded query rows come back zero.
TEST(SkiparseAttention, ValidFirstOrderFeedsVarlenKernels) {
  const SkiparseGeometry g = SkiparseGeometry::make({2, 6, 10}, 2);
  const int64_t b = 2, N = 2, D = 16, rows = 4 * b;
  const at::Tensor mask = sk::token_layout_mask(g, b);  // [8, n]
  const sk::ValidFirstOrder vf = sk::valid_first_order(mask);
  ASSERT_EQ(vf.order.sizes(), mask.sizes());
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t len = vf.lengths[r].item<int64_t>();
    EXPECT_EQ(len, g.valid_tokens_token_layout(r / b)) << r;
    EXPECT_TRUE(at::equal(std::get<0>(at::sort(vf.order[r])), at::arange(g.n, at::kLong)));  // a permutation
    const at::Tensor head = vf.order[r].narrow(0, 0, len), tail = vf.order[r].narrow(0, len, g.n - len);
    EXPECT_TRUE(at::equal(head, mask[r].nonzero().view(-1)));  // the valid positions, increasing
    EXPECT_FALSE(mask[r].index_select(0, tail).any().item<bool>());
  }
  const at::Tensor q = randn({rows, g.n, N, D}, 51), k = randn({rows, g.n, N, D}, 52), v = randn({rows, g.n, N, D}, 53);
  const double scale = 0.25;
  const at::Tensor index = vf.order.view({rows, g.n, 1, 1}).expand({rows, g.n, N, D});
  const auto pack = [&](const at::Tensor& x) { return x.gather(1, index); };
  const at::Tensor packed_out = sk::fused_attention(pack(q), pack(k), pack(v), scale, kFp32, vf.lengths, vf.lengths);
  const at::Tensor out = at::zeros_like(packed_out).scatter_(1, index, packed_out);
  const at::Tensor expected = sk::math_attention(q, k, v, scale, kFp32, int64_t{64} << 20, mask);
  const at::Tensor real = mask.view({rows, g.n, 1, 1});
  EXPECT_LE(rel_error(out * real, expected * real), 1e-5);
  EXPECT_EQ(out.masked_select(real.logical_not()).abs().max().item<float>(), 0.0f);
}

TEST(SkiparseRope, PerSubsequenceTablesRotateTheirRows) {
  // [S, L, d/2] tables: row r of [S·b, L, N, d] uses table r / b.
  const int64_t S = 4, b = 2, L = 5, N = 2, d = 12;
  const osp::nn::RopeTable full = osp::nn::make_rope_table(d, {1, 4, 5});  // 20 tokens
  const at::Tensor order = at::randperm(20, at::TensorOptions().dtype(at::kLong)).narrow(0, 0, S * L).view({S, L});
  const osp::nn::RopeTable per_row{full.grid, full.cos.index_select(0, order.view(-1)).view({S, L, d / 2}),
                                   full.sin.index_select(0, order.view(-1)).view({S, L, d / 2})};
  at::Tensor x = randn({S * b, L, N, d}, 31);
  at::Tensor rotated = x.clone();
  osp::nn::apply_rope_(rotated, per_row);
  for (int64_t r = 0; r < S * b; ++r) {
    const osp::nn::RopeTable one{full.grid, per_row.cos[r / b], per_row.sin[r / b]};
    at::Tensor row = x.narrow(0, r, 1).clone();
    osp::nn::apply_rope_(row, one);
    EXPECT_TRUE(at::equal(row[0], rotated[r])) << r;
  }
  // The generic (non-contiguous) path agrees.
  at::Tensor strided = at::cat({x, x}, 3).narrow(3, 0, d);
  osp::nn::apply_rope_(strided, per_row);
  EXPECT_LE(rel_error(strided, rotated), 1e-7);
}

// ---------------------------------------------------------------------------------------------
// Sparse model against the float64 reference with equivalent dense masks

enum class Kind { kFull, kToken, kGroup };

// dual_end schedule written from "Block schedule" (not through the library): full blocks [0, F/2) ∪
// [L − F/2, L), sparse block i token when even, group when odd.
std::vector<Kind> dual_end_kinds(int64_t layers, int64_t full_blocks) {
  std::vector<Kind> kinds;
  for (int64_t i = 0; i < layers; ++i) {
    const bool full = i < full_blocks / 2 || i >= layers - full_blocks / 2;
    kinds.push_back(full ? Kind::kFull : i % 2 == 0 ? Kind::kToken : Kind::kGroup);
  }
  return kinds;
}

// Dense [L, L] masks on the unpadded grid ("Layouts" membership): token block: same (y mod P,
// x mod P); group block: same (⌊y/P⌋ mod P, ⌊x/P⌋ mod P); full block: undefined (all).
std::vector<at::Tensor> dense_masks(const std::vector<Kind>& kinds, const std::array<int64_t, 3>& grid, int64_t P) {
  const int64_t T = grid[0], H = grid[1], W = grid[2], L = T * H * W;
  std::vector<int64_t> token_key(static_cast<size_t>(L)), group_key(static_cast<size_t>(L));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x) {
        const size_t l = static_cast<size_t>((t * H + y) * W + x);
        token_key[l] = (y % P) * P + x % P;
        group_key[l] = ((y / P) % P) * P + (x / P) % P;
      }
  at::Tensor token = at::empty({L, L}, at::kBool), group = at::empty({L, L}, at::kBool);
  auto ta = token.accessor<bool, 2>(), ga = group.accessor<bool, 2>();
  for (int64_t i = 0; i < L; ++i)
    for (int64_t j = 0; j < L; ++j) {
      ta[i][j] = token_key[static_cast<size_t>(i)] == token_key[static_cast<size_t>(j)];
      ga[i][j] = group_key[static_cast<size_t>(i)] == group_key[static_cast<size_t>(j)];
    }
  std::vector<at::Tensor> masks;
  for (Kind k : kinds) masks.push_back(k == Kind::kFull ? at::Tensor() : k == Kind::kToken ? token : group);
  return masks;
}

struct SparseCase {
  int64_t layers, full_blocks, P, B, F, h, w;  // token grid (F, h, w); latent (F, 2h, 2w)
  uint64_t seed;
};

void PrintTo(const SparseCase& c, std::ostream* os) {
  *os << "layers=" << c.layers << " F=" << c.full_blocks << " P=" << c.P << " B=" << c.B << " grid " << c.F << "x"
      << c.h << "x" << c.w;
}

DiTConfig sparse_config(const SparseCase& sc) {
  DiTConfig c = osp::test::tiny_config(32, 2);
  c.num_layers = sc.layers;
  c.skiparse_model_type = "dual_end";
  c.sparse_ratio = sc.P;
  c.num_full_blocks = sc.full_blocks;
  c.validate();
  return c;
}

class SparseDiTParity : public ::testing::TestWithParam<SparseCase> {};

TEST_P(SparseDiTParity, MatchesMaskedFloat64Reference) {
  const SparseCase sc = GetParam();
  const DiTConfig c = sparse_config(sc);
  const Inputs in = osp::test::random_inputs(c, sc.B, sc.F, 2 * sc.h, 2 * sc.w, 5, sc.seed + 100);
  const std::vector<at::Tensor> masks = dense_masks(dual_end_kinds(sc.layers, sc.full_blocks), {sc.F, sc.h, sc.w}, sc.P);

  WanDiT model(c, kFp32, c10::kCPU);
  osp::test::randomize(model, sc.seed);
  const osp::test::Reference reference(model);
  const at::Tensor expected = reference.forward(in, masks);
  const at::Tensor v = model.forward(in.x, in.t, in.context);
  ASSERT_EQ(v.sizes(), in.x.sizes());
  const double err = rel_error(v, expected);
  // The masks matter: the same weights with full attention everywhere are far away.
  const double full_gap = rel_error(reference.forward(in), expected);
  std::printf("[ sparse   ] L=%ld F=%ld P=%ld grid %ldx%ldx%ld B=%ld: fp32 error %.3g (full attention differs by %.3g)\n",
              static_cast<long>(sc.layers), static_cast<long>(sc.full_blocks), static_cast<long>(sc.P),
              static_cast<long>(sc.F), static_cast<long>(sc.h), static_cast<long>(sc.w), static_cast<long>(sc.B), err,
              full_gap);
  EXPECT_LE(err, 1e-5);
  EXPECT_GE(full_gap, 1e-3);

  // bf16 mode: same weights (rounded by the parameter dtypes), within bf16 error of float64.
  WanDiT bf16_model(c, kBf16, c10::kCPU);
  {
    c10::InferenceMode guard;
    const auto source = model.named_parameters();
    for (const auto& item : bf16_model.named_parameters()) item.value().copy_(source[item.key()]);
  }
  const double bf16_err = rel_error(bf16_model.forward(in.x, in.t, in.context), expected);
  std::printf("[ sparse   ] bf16 error %.3g\n", bf16_err);
  EXPECT_LE(bf16_err, 3e-2);
}

INSTANTIATE_TEST_SUITE_P(
    TinyConfigs, SparseDiTParity,
    ::testing::Values(SparseCase{6, 0, 2, 2, 1, 6, 10, 1},    // all sparse; grid 6×10 padded to 8×12
                      SparseCase{10, 4, 2, 1, 2, 6, 10, 2},   // full 0–1, 8–9; sparse 2–7
                      SparseCase{8, 4, 3, 2, 2, 7, 11, 3},    // P = 3, padded to 9×18
                      SparseCase{6, 0, 3, 1, 1, 2, 5, 4},     // H < P: empty token sub-sequences
                      SparseCase{8, 4, 2, 2, 2, 4, 8, 5}));   // no padding

// Changing what the padding tokens hold changes no real output of a sparse block (token blocks 0,
// 2 and group blocks 1, 3, each on its layout with its RoPE table and key mask).
TEST(SparseBlock, PaddingContentsDoNotReachRealTokens) {
  const SparseCase sc{6, 0, 2, 2, 2, 6, 10, 7};
  const DiTConfig c = sparse_config(sc);
  WanDiT model(c, kFp32, c10::kCPU);
  osp::test::randomize(model, 7);
  const SkiparseGeometry g = SkiparseGeometry::make({sc.F, sc.h, sc.w}, sc.P);
  const int64_t b = sc.B, D = c.dim;
  const osp::nn::RopeTable rope = osp::nn::make_rope_table(c.head_dim(), {sc.F, sc.h, sc.w});
  const at::Tensor e0 = randn({b, 6, D}, 41, 0.3), text = randn({b, c.text_len, D}, 42);
  const at::Tensor plain = sk::pad(randn({b, g.tokens(), D}, 43), g);  // [b, N, D], zero padding
  for (const bool group : {false, true}) {
    const auto to_layout = [&](const at::Tensor& t) {
      return group ? sk::to_group_layout(t, g) : sk::to_token_layout(t, g);
    };
    const auto move = [&](const at::Tensor& table, double value) { return to_layout(sk::pad(table.unsqueeze(0), g, value)); };
    const osp::nn::RopeTable layout_rope{rope.grid, move(rope.cos, 1.0), move(rope.sin, 0.0)};
    const at::Tensor x = to_layout(plain);  // [P²b, n, D]
    const at::Tensor mask = group ? sk::group_layout_mask(g, b) : sk::token_layout_mask(g, b);
    ASSERT_TRUE(mask.defined());
    at::Tensor garbage = x.clone();
    garbage.masked_scatter_(mask.logical_not().unsqueeze(-1).expand_as(x), randn({x.numel()}, 44, 100.0));
    ASSERT_FALSE(at::equal(garbage, x));
    const auto real = [&](at::Tensor in, const at::Tensor& key_mask, int64_t block) {
      const at::Tensor out = model.blocks[static_cast<size_t>(block)]->forward(std::move(in), e0, text, layout_rope,
                                                                               false, key_mask);
      return sk::crop(group ? sk::from_group_layout(out, g) : sk::from_token_layout(out, g), g);
    };
    for (const int64_t block : group ? std::vector<int64_t>{1, 3} : std::vector<int64_t>{0, 2}) {
      const at::Tensor clean = real(x.clone(), mask, block), dirty = real(garbage.clone(), mask, block);
      EXPECT_LE(rel_error(dirty, clean), 1e-6) << "block " << block;
      // Without the mask the padding leaks into real tokens (the check can fail).
      EXPECT_GE(rel_error(real(garbage.clone(), at::Tensor(), block), clean), 1e-3) << "block " << block;
    }
  }
}

}  // namespace
