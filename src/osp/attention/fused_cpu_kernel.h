// Internal to the fused CPU attention kernel: the algorithm, written once as templates over a SIMD
// vector type V and instantiated per ISA by fused_cpu.cpp (scalar), fused_cpu_avx2.cpp and
// fused_cpu_avx512.cpp. Each of those includes fused_cpu_problem.h (all library headers) first,
// then switches the target ISA on, then includes this file: everything here has internal linkage,
// so each translation unit keeps its own instantiation (no ODR mixing of ISAs).
//
// Flash-attention schedule: one work item is (batch row, head, tile of kQueryTile query rows); it
// walks the key tiles of kKeyTile keys with an online softmax, so scores exist only as one
// [kQueryTile, kKeyTile] block per thread. K (transposed) and V of a group of heads are packed
// once into panel-major float32 blocks (rounded to bf16 values in bf16 mode) shared by all
// threads; their size is bounded by FusedProblem::pack_budget_bytes. Register-blocked
// micro-kernels: scores kRows query rows × 2 vectors of keys (broadcast q, FMA into kᵀ rows),
// weighted sum kRows rows × 2 vectors of head dims (broadcast p, FMA into v rows), each walking
// one contiguous panel that stays in L1 across all row blocks of the tile (measured on one Zen3
// core, L = 16384, d = 128: 57 GFLOP/s with panels, ~25 with the row-major tile of 512-byte
// stride). Softmax in base 2 with a polynomial exp2; everything accumulates in float32.
//
// V provides: Reg, kWidth, zero(), set1(f), load(p), store(p, r), broadcast(p), fma(a, b, c) =
// a·b + c, add, sub, mul, max, reduce_add, reduce_max, round_nearest, pow2_of_integral(n) = 2ⁿ for
// an integral-valued n in [-127, 127], zero_where_below(x, t, r) = x < t ? 0 : r.

#include "osp/nn/simd_exp2.h"

namespace osp::attention::detail {
namespace {

constexpr int64_t kRows = 6;          // micro-kernel query rows
constexpr int64_t kQueryTile = 96;    // query rows per work item (multiple of kRows)
constexpr int64_t kKeyTile = 128;     // keys per online-softmax step (multiple of 2 · widest vector)

inline int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
inline int64_t ceil_div(int64_t x, int64_t m) { return (x + m - 1) / m; }

// 64-byte aligned float scratch.
class AlignedFloats {
 public:
  explicit AlignedFloats(int64_t count) {
    const size_t bytes = static_cast<size_t>(round_up(std::max<int64_t>(count, 16) * int64_t{sizeof(float)}, 64));
    data_ = static_cast<float*>(std::aligned_alloc(64, bytes));
    if (data_ == nullptr) throw std::bad_alloc();
  }
  ~AlignedFloats() { std::free(data_); }
  AlignedFloats(const AlignedFloats&) = delete;
  AlignedFloats& operator=(const AlignedFloats&) = delete;
  float* get() const { return data_; }

 private:
  float* data_ = nullptr;
};

inline float read_value(const float* p) { return *p; }
inline float read_value(const c10::BFloat16* p) { return static_cast<float>(*p); }

inline float bf16_value(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  u = nn::bf16_round_bits(u);
  std::memcpy(&x, &u, sizeof u);
  return x;
}

// s[0..kRows)[0..2W) = q[0..kRows)[0..depth) · kt[0..depth)[0..2W) (kt: depth rows of `kt_stride`).
template <class V>
inline void qk_micro(const float* q, int64_t q_stride, const float* kt, int64_t kt_stride, int64_t depth, float* s,
                     int64_t s_stride) {
  using R = typename V::Reg;
  constexpr int64_t W = V::kWidth;
  R acc[kRows][2];
  for (int64_t i = 0; i < kRows; ++i) acc[i][0] = acc[i][1] = V::zero();
  for (int64_t d = 0; d < depth; ++d) {
    const R k0 = V::load(kt + d * kt_stride), k1 = V::load(kt + d * kt_stride + W);
    for (int64_t i = 0; i < kRows; ++i) {
      const R qi = V::broadcast(q + i * q_stride + d);
      acc[i][0] = V::fma(qi, k0, acc[i][0]);
      acc[i][1] = V::fma(qi, k1, acc[i][1]);
    }
  }
  for (int64_t i = 0; i < kRows; ++i) {
    V::store(s + i * s_stride, acc[i][0]);
    V::store(s + i * s_stride + W, acc[i][1]);
  }
}

// o[0..kRows)[0..2W) += p[0..kRows)[0..count) · v[0..count)[0..2W).
template <class V>
inline void pv_micro(const float* p, int64_t p_stride, const float* v, int64_t v_stride, int64_t count, float* o,
                     int64_t o_stride) {
  using R = typename V::Reg;
  constexpr int64_t W = V::kWidth;
  R acc[kRows][2];
  for (int64_t i = 0; i < kRows; ++i) {
    acc[i][0] = V::load(o + i * o_stride);
    acc[i][1] = V::load(o + i * o_stride + W);
  }
  for (int64_t j = 0; j < count; ++j) {
    const R v0 = V::load(v + j * v_stride), v1 = V::load(v + j * v_stride + W);
    for (int64_t i = 0; i < kRows; ++i) {
      const R pi = V::broadcast(p + i * p_stride + j);
      acc[i][0] = V::fma(pi, v0, acc[i][0]);
      acc[i][1] = V::fma(pi, v1, acc[i][1]);
    }
  }
  for (int64_t i = 0; i < kRows; ++i) {
    V::store(o + i * o_stride, acc[i][0]);
    V::store(o + i * o_stride + W, acc[i][1]);
  }
}

// Online softmax step for `rows` rows of scores s (stride kKeyTile, `count` valid of `cols`):
// new running max m, p = 2^(s − m) in place, running sum l, accumulator rows o rescaled.
template <class V>
inline void softmax_step(float* s, int64_t rows, int64_t count, int64_t cols, float* m, float* l, float* o,
                         int64_t o_stride) {
  using R = typename V::Reg;
  constexpr int64_t W = V::kWidth;
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < rows; ++i) {
    float* row = s + i * kKeyTile;
    for (int64_t j = count; j < cols; ++j) row[j] = kNegInf;
    R mx = V::set1(kNegInf);
    for (int64_t c = 0; c < cols; c += W) mx = V::max(mx, V::load(row + c));
    const float m_new = std::max(m[i], V::reduce_max(mx));
    const float alpha = m[i] == kNegInf ? 0.0f : std::exp2(m[i] - m_new);
    const R shift = V::set1(m_new);
    R total = V::zero();
    for (int64_t c = 0; c < cols; c += W) {
      const R e = simd::exp2_poly<V>(V::sub(V::load(row + c), shift));
      V::store(row + c, e);
      total = V::add(total, e);
    }
    l[i] = l[i] * alpha + V::reduce_add(total);
    m[i] = m_new;
    if (alpha != 1.0f) {
      float* orow = o + i * o_stride;
      const R a = V::set1(alpha);
      for (int64_t d = 0; d < o_stride; d += W) V::store(orow + d, V::mul(V::load(orow + d), a));
    }
  }
}

// Packed K/V of one head, panel-major so that a micro-kernel reads consecutive cache lines (a
// D-row panel with a 512-byte row stride would fall into 1/8 of the L1 sets and never stay
// resident). Key tile t occupies kKeyTile·Dp floats at kt + t·kKeyTile·Dp and vp + t·kKeyTile·Dp
// (Dp = D rounded up to C = 2 vectors): kᵀ as kKeyTile/C panels of [Dp][C] (keys of the panel
// along C), v as Dp/C panels of [kKeyTile][C] (head dims of the panel along C). Keys past the
// sequence end are zero in kᵀ (finite scores, masked by the softmax) and never read in v.
template <class T>
void pack_key_tile(const FusedProblem& p, int64_t b, int64_t n, int64_t tile, int64_t dp, int64_t C, float* kt,
                   float* vp) {
  const int64_t kl = p.key_lengths[b];
  const int64_t j0 = tile * kKeyTile, count = std::min(kKeyTile, kl - j0);
  if (count <= 0) return;
  const int64_t D = p.head_dim;
  const T* k = static_cast<const T*>(p.k) + b * p.k_stride[0] + j0 * p.k_stride[1] + n * p.k_stride[2];
  const T* v = static_cast<const T*>(p.v) + b * p.v_stride[0] + j0 * p.v_stride[1] + n * p.v_stride[2];
  float* ktile = kt + tile * kKeyTile * dp;
  float* vtile = vp + tile * kKeyTile * dp;
  std::fill_n(ktile, kKeyTile * dp, 0.0f);
  if (dp > D || count < kKeyTile) std::fill_n(vtile, kKeyTile * dp, 0.0f);
  for (int64_t j = 0; j < count; ++j) {
    const T* krow = k + j * p.k_stride[1];
    const T* vrow = v + j * p.v_stride[1];
    float* kdst = ktile + (j / C) * (dp * C) + j % C;  // + d·C
    for (int64_t d = 0; d < D; ++d) {
      float kx = read_value(krow + d), vx = read_value(vrow + d);
      if (p.round_bf16) kx = bf16_value(kx), vx = bf16_value(vx);
      kdst[d * C] = kx;
      vtile[(d / C) * (kKeyTile * C) + j * C + d % C] = vx;
    }
  }
}

// Per-thread scratch of one work item; `weights` serves the bf16 pair path (fused_cpu_pairs.h).
struct TileScratch {
  explicit TileScratch(int64_t dp)
      : q(kQueryTile * dp), o(kQueryTile * dp), s(kQueryTile * kKeyTile), m(kQueryTile), l(kQueryTile),
        weights(kQueryTile * kKeyTile / 2) {}
  AlignedFloats q, o, s, m, l, weights;
};

// One work item: query tile `qtile` of head (b, n), against that head's packed K/V.
template <class V, class T>
void attend_tile(const FusedProblem& p, int64_t b, int64_t n, int64_t qtile, int64_t dp, const float* kt,
                 const float* vp, TileScratch& scratch) {
  constexpr int64_t C = 2 * V::kWidth;
  const int64_t D = p.head_dim, N = p.heads;
  const int64_t i0 = qtile * kQueryTile, rows = std::min(kQueryTile, p.query_len - i0);
  const int64_t kl = p.key_lengths[b];
  const int64_t valid = kl == 0 ? 0 : std::clamp<int64_t>(p.query_lengths[b] - i0, 0, rows);
  float* out = p.out + ((b * p.query_len + i0) * N + n) * D;  // row i at out + i·N·D
  for (int64_t i = valid; i < rows; ++i) std::fill_n(out + i * N * D, D, 0.0f);
  if (valid == 0) return;
  const int64_t rows_pad = round_up(valid, kRows);

  float* qs = scratch.q.get();
  float* os = scratch.o.get();
  float* ss = scratch.s.get();
  float* m = scratch.m.get();
  float* l = scratch.l.get();
  const T* q = static_cast<const T*>(p.q) + b * p.q_stride[0] + i0 * p.q_stride[1] + n * p.q_stride[2];
  for (int64_t i = 0; i < rows_pad; ++i) {
    float* dst = qs + i * dp;
    if (i < valid) {
      const T* src = q + i * p.q_stride[1];
      for (int64_t d = 0; d < D; ++d) {
        float x = read_value(src + d);
        if (p.round_bf16) x = bf16_value(x);
        dst[d] = x * p.scale_log2;
      }
    } else {
      std::fill_n(dst, D, 0.0f);
    }
    std::fill_n(os + i * dp, dp, 0.0f);
    m[i] = -std::numeric_limits<float>::infinity();
    l[i] = 0.0f;
  }

  const int64_t tiles = ceil_div(kl, kKeyTile);
  for (int64_t t = 0; t < tiles; ++t) {
    const int64_t count = std::min(kKeyTile, kl - t * kKeyTile), cols = round_up(count, C);
    const float* ktile = kt + t * kKeyTile * dp;
    const float* vtile = vp + t * kKeyTile * dp;
    // Column panel outermost: one panel of kᵀ (D × C) or v (count × C) stays in L1 while every
    // row block of the tile uses it; the row blocks themselves are small and stream from L2.
    for (int64_t c = 0; c < cols; c += C)
      for (int64_t r = 0; r < rows_pad; r += kRows)
        qk_micro<V>(qs + r * dp, dp, ktile + (c / C) * (dp * C), C, D, ss + r * kKeyTile + c, kKeyTile);
    softmax_step<V>(ss, rows_pad, count, cols, m, l, os, dp);
    for (int64_t d0 = 0; d0 < dp; d0 += C)
      for (int64_t r = 0; r < rows_pad; r += kRows)
        pv_micro<V>(ss + r * kKeyTile, kKeyTile, vtile + (d0 / C) * (kKeyTile * C), C, count, os + r * dp + d0, dp);
  }

  for (int64_t i = 0; i < valid; ++i) {
    const float inv = 1.0f / l[i];
    const float* src = os + i * dp;
    float* dst = out + i * N * D;
    for (int64_t d = 0; d < D; ++d) dst[d] = src[d] * inv;
    if (p.round_bf16) nn::round_span_to_bf16(dst, D);
  }
}

// The schedule both operand layouts share: heads in groups whose packed K/V (`per_head` 4-byte
// slots each: kᵀ in the first half, v in the second) fit the pack budget; per group every key
// tile is packed in parallel, then every query tile attended in parallel.
// pack(head, key_tile, slots), attend(head, query_tile, slots, scratch).
template <class Pack, class Attend>
void run_over_heads(const FusedProblem& p, int64_t dp, int64_t per_head, Pack&& pack, Attend&& attend) {
  const int64_t heads = p.batch * p.heads;
  const int64_t key_tiles = ceil_div(p.key_len, kKeyTile), query_tiles = ceil_div(p.query_len, kQueryTile);
  if (heads == 0 || query_tiles == 0) return;
  const int64_t budget_slots = p.pack_budget_bytes / int64_t{sizeof(float)};
  const int64_t group = std::clamp<int64_t>(budget_slots / per_head, 1, heads);
  AlignedFloats packed(group * per_head);

  for (int64_t h0 = 0; h0 < heads; h0 += group) {
    const int64_t count = std::min(group, heads - h0);
    float* base = packed.get();
    at::parallel_for(0, count * key_tiles, 1, [&](int64_t begin, int64_t end) {
      for (int64_t item = begin; item < end; ++item) {
        const int64_t g = item / key_tiles;
        pack(h0 + g, item % key_tiles, base + g * per_head);
      }
    });
    at::parallel_for(0, count * query_tiles, 1, [&](int64_t begin, int64_t end) {
      TileScratch scratch(dp);
      for (int64_t item = begin; item < end; ++item) {
        const int64_t g = item / query_tiles;
        attend(h0 + g, item % query_tiles, static_cast<const float*>(base + g * per_head), scratch);
      }
    });
  }
}

template <class V, class T>
void run_typed(const FusedProblem& p) {
  constexpr int64_t C = 2 * V::kWidth;
  static_assert(kKeyTile % C == 0 && kQueryTile % kRows == 0, "tile sizes must fit the micro-kernels");
  const int64_t dp = round_up(p.head_dim, C);
  const int64_t per_head = 2 * std::max<int64_t>(ceil_div(p.key_len, kKeyTile), 1) * kKeyTile * dp;  // kᵀ and v
  const int64_t half = per_head / 2;
  run_over_heads(
      p, dp, per_head,
      [&](int64_t h, int64_t tile, float* kt) { pack_key_tile<T>(p, h / p.heads, h % p.heads, tile, dp, C, kt, kt + half); },
      [&](int64_t h, int64_t qtile, const float* kt, TileScratch& scratch) {
        attend_tile<V, T>(p, h / p.heads, h % p.heads, qtile, dp, kt, kt + half, scratch);
      });
}

template <class V>
void run_fused(const FusedProblem& p) {
  if (p.bf16_input) {
    run_typed<V, c10::BFloat16>(p);
  } else {
    run_typed<V, float>(p);
  }
}

// Portable reference ISA: one float per "vector" (the compiler may still vectorize around it).
struct ScalarVec {
  using Reg = float;
  static constexpr int64_t kWidth = 1;
  static Reg zero() { return 0.0f; }
  static Reg set1(float x) { return x; }
  static Reg load(const float* p) { return *p; }
  static void store(float* p, Reg x) { *p = x; }
  static Reg broadcast(const float* p) { return *p; }
  static Reg fma(Reg a, Reg b, Reg c) { return a * b + c; }
  static Reg add(Reg a, Reg b) { return a + b; }
  static Reg sub(Reg a, Reg b) { return a - b; }
  static Reg mul(Reg a, Reg b) { return a * b; }
  static Reg max(Reg a, Reg b) { return a > b ? a : b; }
  static Reg min(Reg a, Reg b) { return a < b ? a : b; }
  static float reduce_add(Reg a) { return a; }
  static float reduce_max(Reg a) { return a; }
  static Reg round_nearest(Reg a) { return std::nearbyint(a); }
  static Reg pow2_of_integral(Reg n) {
    const uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23;
    float out;
    std::memcpy(&out, &bits, sizeof out);
    return out;
  }
  static Reg zero_where_below(Reg x, Reg t, Reg r) { return x < t ? 0.0f : r; }
};

}  // namespace
}  // namespace osp::attention::detail
