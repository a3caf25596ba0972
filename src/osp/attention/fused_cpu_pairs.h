// Internal to the fused CPU attention kernel: its bf16 mode on CPUs with bf16 dot-product
// instructions (AVX-512 BF16's vdpbf16ps: per float32 lane, acc += a₀·b₀ + a₁·b₁ for a pair of
// bf16 values in each 32-bit word of a and b — twice the multiply-adds of a float32 FMA per
// instruction). Included by fused_cpu_avx512bf16.cpp after fused_cpu_kernel.h, whose schedule,
// online softmax and exp2 it reuses; only the operands change:
//
//   QKᵀ  reduces over the head dimension, so q and kᵀ are stored as pairs of consecutive head
//        dims: q rows in bf16 (a bf16 row read as 32-bit words pairs consecutive elements), kᵀ
//        panels of C keys as [D/2][C] words; the scale is applied to the float32 scores.
//   PV   reduces over keys, so p (the softmax weights, float32) is rounded to bf16 once per key
//        tile and v panels of C head dims are stored as [kKeyTile/2][C] words pairing
//        consecutive keys. The running sum l stays the float32 sum of the unrounded weights.
//
// The extra rounding (p to bf16; q, k, v are bf16 values already in this mode) is the one
// FlashAttention makes on GPUs; the tests hold this path to the same tolerances as the float
// path against the float64 reference. V adds to fused_cpu_kernel.h's vector type: Words (512
// bits of bf16 pairs), load_words(p), broadcast_word(p), dot_pairs(acc, a, b), and
// store_bf16_pairs(src, dst) rounding 2·kWidth floats to bf16.
//
// The two products of a key tile are a policy Products, so that the same schedule runs on the
// vector dot-product instruction (DotPairProducts below) and on AMX tiles (fused_cpu_amx.cpp):
//   kRowBlock                     query rows are padded to a multiple of this
//   Scope                         constructed around one work item (AMX: the tile configuration)
//   scores(q, half, D, kt, rows, cols, s, scale)
//                                 s[rows][cols] (row stride kKeyTile) = scale · q · kᵀ for one key
//                                 tile: q rows of `half` words, kᵀ panels as packed below
//   accumulate(w, vp, rows, count, dp, o)
//                                 o[rows][dp] += w · v over the tile's `count` keys: w rows of
//                                 kKeyTile/2 words (pairs of keys), v panels as packed below

namespace osp::attention::detail {
namespace {

inline uint16_t bf16_bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return static_cast<uint16_t>(nn::bf16_round_bits(u) >> 16);
}
inline uint16_t bf16_bits(c10::BFloat16 x) { return x.x; }

// Row `src` (D values) as bf16 bits in dst[0..dp), zeros past D.
template <class T>
inline void row_bf16_bits(const T* src, int64_t D, int64_t dp, uint16_t* dst) {
  for (int64_t d = 0; d < D; ++d) dst[d] = bf16_bits(src[d]);
  std::fill(dst + D, dst + dp, uint16_t{0});
}

// Packed K/V of one head for the pair path: key tile t occupies kKeyTile·Dp/2 words of kt and of
// vp (Dp = D rounded up to C = 2 vectors). kᵀ: kKeyTile/C panels of [Dp/2][C] words, word (d/2, j)
// holding k[j][d] in its half d % 2; v: Dp/C panels of [kKeyTile/2][C] words, word (j/2, d)
// holding v[j][d] in its half j % 2. Pairs past D or past the sequence end are zero. Each row is
// first converted to bf16 once: a bf16 row read as 32-bit words is already kᵀ's pairs, and two
// consecutive v rows interleave into v's.
template <class T, int64_t C>
void pack_key_tile_pairs(const FusedProblem& p, int64_t b, int64_t n, int64_t tile, int64_t dp, uint32_t* kt,
                         uint32_t* vp) {
  const int64_t kl = p.key_lengths[b];
  const int64_t j0 = tile * kKeyTile, count = std::min(kKeyTile, kl - j0);
  if (count <= 0) return;
  const int64_t D = p.head_dim, half = dp / 2, words = kKeyTile * half;
  const T* k = static_cast<const T*>(p.k) + b * p.k_stride[0] + j0 * p.k_stride[1] + n * p.k_stride[2];
  const T* v = static_cast<const T*>(p.v) + b * p.v_stride[0] + j0 * p.v_stride[1] + n * p.v_stride[2];
  uint32_t* ktile = kt + tile * words;
  uint32_t* vtile = vp + tile * words;
  if (count < kKeyTile) {  // keys past the end: zero pairs (full tiles are written whole below)
    std::fill_n(ktile, words, 0u);
    std::fill_n(vtile, words, 0u);
  }
  std::vector<uint16_t> rows(2 * static_cast<size_t>(dp));
  uint16_t* first = rows.data();
  uint16_t* second = first + dp;
  for (int64_t j = 0; j < count; ++j) {
    row_bf16_bits(k + j * p.k_stride[1], D, dp, first);
    const auto* pairs = reinterpret_cast<const uint32_t*>(first);
    uint32_t* dst = ktile + (j / C) * (half * C) + j % C;  // + (d/2)·C
    for (int64_t w = 0; w < half; ++w) dst[w * C] = pairs[w];
  }
  for (int64_t j = 0; j < count; j += 2) {
    row_bf16_bits(v + j * p.v_stride[1], D, dp, first);
    if (j + 1 < count) {
      row_bf16_bits(v + (j + 1) * p.v_stride[1], D, dp, second);
    } else {
      std::fill(second, second + dp, uint16_t{0});
    }
    uint32_t* dst = vtile + (j / 2) * C;  // + (d/C)·(kKeyTile/2·C) + d % C
    for (int64_t d = 0; d < dp; ++d)
      dst[(d / C) * (kKeyTile / 2 * C) + d % C] = uint32_t{first[d]} | (uint32_t{second[d]} << 16);
  }
}

// s[0..kRows)[0..2W) = scale · q[0..kRows) · kᵀ[.., 0..2W), q rows of `q_stride` words, kᵀ `depth`
// rows of C = 2W words.
template <class V>
inline void qk_pairs_micro(const uint32_t* q, int64_t q_stride, const uint32_t* kt, int64_t depth, float* s,
                           int64_t s_stride, float scale) {
  using R = typename V::Reg;
  constexpr int64_t W = V::kWidth;
  R acc[kRows][2];
  for (int64_t i = 0; i < kRows; ++i) acc[i][0] = acc[i][1] = V::zero();
  for (int64_t d = 0; d < depth; ++d) {
    const typename V::Words k0 = V::load_words(kt + d * 2 * W), k1 = V::load_words(kt + d * 2 * W + W);
    for (int64_t i = 0; i < kRows; ++i) {
      const typename V::Words qi = V::broadcast_word(q + i * q_stride + d);
      acc[i][0] = V::dot_pairs(acc[i][0], qi, k0);
      acc[i][1] = V::dot_pairs(acc[i][1], qi, k1);
    }
  }
  const R factor = V::set1(scale);
  for (int64_t i = 0; i < kRows; ++i) {
    V::store(s + i * s_stride, V::mul(acc[i][0], factor));
    V::store(s + i * s_stride + W, V::mul(acc[i][1], factor));
  }
}

// o[0..kRows)[0..2W) += p[0..kRows) · v[.., 0..2W), p rows of `p_stride` words (pairs of keys), v
// `pairs` rows of C = 2W words.
template <class V>
inline void pv_pairs_micro(const uint32_t* p, int64_t p_stride, const uint32_t* v, int64_t pairs, float* o,
                           int64_t o_stride) {
  using R = typename V::Reg;
  constexpr int64_t W = V::kWidth;
  R acc[kRows][2];
  for (int64_t i = 0; i < kRows; ++i) {
    acc[i][0] = V::load(o + i * o_stride);
    acc[i][1] = V::load(o + i * o_stride + W);
  }
  for (int64_t j = 0; j < pairs; ++j) {
    const typename V::Words v0 = V::load_words(v + j * 2 * W), v1 = V::load_words(v + j * 2 * W + W);
    for (int64_t i = 0; i < kRows; ++i) {
      const typename V::Words pi = V::broadcast_word(p + i * p_stride + j);
      acc[i][0] = V::dot_pairs(acc[i][0], pi, v0);
      acc[i][1] = V::dot_pairs(acc[i][1], pi, v1);
    }
  }
  for (int64_t i = 0; i < kRows; ++i) {
    V::store(o + i * o_stride, acc[i][0]);
    V::store(o + i * o_stride + W, acc[i][1]);
  }
}


// The products on the vector dot-product instruction: register-blocked micro-kernels of kRows
// query rows × C = 2 vectors, each walking one panel of kᵀ or v that stays in L1 across the row
// blocks (the float path's schedule, fused_cpu_kernel.h).
template <class V>
struct DotPairProducts {
  static constexpr int64_t kRowBlock = kRows;
  struct Scope {};
  static void scores(const uint32_t* q, int64_t half, int64_t D, const uint32_t* kt, int64_t rows, int64_t cols,
                     float* s, float scale) {
    constexpr int64_t C = 2 * V::kWidth;
    for (int64_t c = 0; c < cols; c += C)
      for (int64_t r = 0; r < rows; r += kRows)
        qk_pairs_micro<V>(q + r * half, half, kt + (c / C) * (half * C), ceil_div(D, 2), s + r * kKeyTile + c,
                          kKeyTile, scale);
  }
  static void accumulate(const uint32_t* w, const uint32_t* vp, int64_t rows, int64_t count, int64_t dp, float* o) {
    constexpr int64_t C = 2 * V::kWidth;
    for (int64_t d0 = 0; d0 < dp; d0 += C)
      for (int64_t r = 0; r < rows; r += kRows)
        pv_pairs_micro<V>(w + r * (kKeyTile / 2), kKeyTile / 2, vp + (d0 / C) * (kKeyTile / 2 * C), ceil_div(count, 2),
                          o + r * dp + d0, dp);
  }
};

// One work item of the pair path (attend_tile's schedule). Scratch: q holds the tile's bf16 rows
// (Dp bf16 = Dp/2 words each), s the float32 scores, then their bf16 copy in weights.
template <class V, class Products, class T>
void attend_tile_pairs(const FusedProblem& p, int64_t b, int64_t n, int64_t qtile, int64_t dp, const uint32_t* kt,
                       const uint32_t* vp, TileScratch& scratch) {
  auto* weights = reinterpret_cast<uint32_t*>(scratch.weights.get());
  constexpr int64_t C = 2 * V::kWidth;
  const int64_t D = p.head_dim, N = p.heads, half = dp / 2;
  const int64_t i0 = qtile * kQueryTile, rows = std::min(kQueryTile, p.query_len - i0);
  const int64_t kl = p.key_lengths[b];
  const int64_t valid = kl == 0 ? 0 : std::clamp<int64_t>(p.query_lengths[b] - i0, 0, rows);
  float* out = p.out + ((b * p.query_len + i0) * N + n) * D;
  for (int64_t i = valid; i < rows; ++i) std::fill_n(out + i * N * D, D, 0.0f);
  if (valid == 0) return;
  const int64_t rows_pad = round_up(valid, Products::kRowBlock);
  [[maybe_unused]] const typename Products::Scope scope;

  auto* qw = reinterpret_cast<uint32_t*>(scratch.q.get());
  float* os = scratch.o.get();
  float* ss = scratch.s.get();
  float* m = scratch.m.get();
  float* l = scratch.l.get();
  const T* q = static_cast<const T*>(p.q) + b * p.q_stride[0] + i0 * p.q_stride[1] + n * p.q_stride[2];
  for (int64_t i = 0; i < rows_pad; ++i) {
    auto* dst = reinterpret_cast<uint16_t*>(qw + i * half);
    std::fill_n(dst, dp, uint16_t{0});
    if (i < valid) {
      const T* src = q + i * p.q_stride[1];
      for (int64_t d = 0; d < D; ++d) dst[d] = bf16_bits(src[d]);
    }
    std::fill_n(os + i * dp, dp, 0.0f);
    m[i] = -std::numeric_limits<float>::infinity();
    l[i] = 0.0f;
  }

  const int64_t tiles = ceil_div(kl, kKeyTile), words = kKeyTile * half;
  for (int64_t t = 0; t < tiles; ++t) {
    const int64_t count = std::min(kKeyTile, kl - t * kKeyTile), cols = round_up(count, C);
    const uint32_t* ktile = kt + t * words;
    const uint32_t* vtile = vp + t * words;
    Products::scores(qw, half, D, ktile, rows_pad, cols, ss, p.scale_log2);
    softmax_step<V>(ss, rows_pad, count, cols, m, l, os, dp);
    for (int64_t r = 0; r < rows_pad; ++r)
      for (int64_t c = 0; c < cols; c += C)
        V::store_bf16_pairs(ss + r * kKeyTile + c, weights + r * (kKeyTile / 2) + c / 2);
    Products::accumulate(weights, vtile, rows_pad, count, dp, os);
  }

  for (int64_t i = 0; i < valid; ++i) {
    const float inv = 1.0f / l[i];
    const float* src = os + i * dp;
    float* dst = out + i * N * D;
    for (int64_t d = 0; d < D; ++d) dst[d] = src[d] * inv;
    nn::round_span_to_bf16(dst, D);
  }
}

// run_typed (fused_cpu_kernel.h) for the pair path: half the packed bytes per head.
template <class V, class Products, class T>
void run_typed_pairs(const FusedProblem& p) {
  constexpr int64_t C = 2 * V::kWidth;
  const int64_t dp = round_up(p.head_dim, C);
  const int64_t per_head = std::max<int64_t>(ceil_div(p.key_len, kKeyTile), 1) * kKeyTile * dp;  // kᵀ and v words
  const int64_t half = per_head / 2;
  run_over_heads(
      p, dp, per_head,
      [&](int64_t h, int64_t tile, float* slots) {
        auto* kt = reinterpret_cast<uint32_t*>(slots);
        pack_key_tile_pairs<T, C>(p, h / p.heads, h % p.heads, tile, dp, kt, kt + half);
      },
      [&](int64_t h, int64_t qtile, const float* slots, TileScratch& scratch) {
        const auto* kt = reinterpret_cast<const uint32_t*>(slots);
        attend_tile_pairs<V, Products, T>(p, h / p.heads, h % p.heads, qtile, dp, kt, kt + half, scratch);
      });
}

// bf16 precision on the pair path with `Products`; float32 precision has no pairs to multiply and
// runs the float kernel of fused_cpu_kernel.h on the same vector type.
template <class V, class Products>
void run_fused_pairs(const FusedProblem& p) {
  if (!p.round_bf16) {
    run_fused<V>(p);
  } else if (p.bf16_input) {
    run_typed_pairs<V, Products, c10::BFloat16>(p);
  } else {
    run_typed_pairs<V, Products, float>(p);
  }
}

}  // namespace
}  // namespace osp::attention::detail
