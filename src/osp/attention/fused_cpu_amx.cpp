// The AMX instantiation of the fused CPU attention kernel: bf16 precision with both products on
// the tile unit (tdpbf16ps: a 16 × 32 bf16 tile times a 32 × 16 bf16 tile, accumulated into 16 × 16
// float32, per instruction), the softmax and the rounding of the weights on AVX-512 (the pair path
// of fused_cpu_pairs.h, whose operand layout is the tiles' own); float32 precision through the
// AVX-512F float path. Compiled with the default flags; only the functions below the target pragma
// use these instructions, and they run only after the dispatcher checked the CPU and the operating
// system granted the tile state (fused_cpu.cpp, docs/skiparse.md "Fused CPU kernel").
#include "osp/attention/fused_cpu_problem.h"

#if defined(__x86_64__) && defined(__linux__) && \
    ((defined(__clang__) && __clang_major__ >= 12) || (!defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 11))
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace osp::attention::detail {

// The tile unit is usable when the CPU has AMX-TILE and AMX-BF16 (CPUID leaf 7: EDX bits 24 and
// 22) and Linux grants this process the tile data state, which it hands out only on request
// (arch_prctl ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA; without it the first tile instruction
// is SIGILL). The grant covers every thread of the process; asked once.
bool fused_amx_usable() {
  static const bool usable = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) == 0) return false;
    if ((edx & (1u << 24)) == 0 || (edx & (1u << 22)) == 0) return false;
    constexpr long kArchReqXcompPerm = 0x1023;
    constexpr long kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
  }();
  return usable;
}

}  // namespace osp::attention::detail

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bf16,amx-tile,amx-bf16,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bf16,amx-tile,amx-bf16,fma")
// GCC 12 flags its own _mm512_undefined_* placeholders inside the intrinsics headers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "osp/attention/fused_cpu_kernel.h"
#include "osp/attention/fused_cpu_avx512_vec.h"
#include "osp/attention/fused_cpu_avx512bf16_vec.h"
#include "osp/attention/fused_cpu_pairs.h"

namespace osp::attention::detail {
namespace {

// Palette 1 with all eight tiles at their largest, 16 rows of 64 bytes: every operand below is a
// full tile because the pair path pads query rows to kRowBlock, keys to C and head dims to C.
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t bytes_per_row[16] = {64, 64, 64, 64, 64, 64, 64, 64};
  uint8_t rows[16] = {16, 16, 16, 16, 16, 16, 16, 16};
};
const TileConfig kTileConfig{};

// The tile intrinsics are asm statements that do not tell the compiler which memory they read or
// write; a compiler barrier orders them against the ordinary loads and stores of the scratch.
inline void memory_barrier() { asm volatile("" ::: "memory"); }

// Tiles: 0–3 accumulators (2 × 2 blocks of 16 × 16 float32), 4–5 the A operand (16 rows of 16
// bf16 pairs each: two row blocks), 6–7 the B operand (16 pair rows of 16 columns: two column
// blocks). Each step of 32 reduced elements is four tile products on two A and two B loads.
struct AmxProducts {
  static constexpr int64_t kRowBlock = 32;  // two tiles of 16 query rows
  static constexpr int64_t kPanel = 32;     // C: keys of a kᵀ panel, head dims of a v panel
  static constexpr int64_t kPanelBytes = kPanel * 4;

  struct Scope {
    Scope() { _tile_loadconfig(&kTileConfig); }
    ~Scope() { _tile_release(); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
  };

  // The product of 32 rows of A (two tiles, `a` and `a + 16 rows`, row stride `a_bytes`) with 32
  // columns of B (`b` and `b + 16` words, row stride one panel), accumulated into tiles 0–3,
  // `steps` times along the reduction (A advancing 16 words, B 16 pair rows of a panel per step).
  static void multiply_block(const uint32_t* a, int64_t a_bytes, const uint32_t* b, int64_t steps) {
    const int64_t a_row_block = 16 * a_bytes / 4;
    for (int64_t k = 0; k < steps; ++k) {
      _tile_loadd(4, a + 16 * k, a_bytes);
      _tile_loadd(5, a + a_row_block + 16 * k, a_bytes);
      _tile_loadd(6, b + 16 * k * kPanel, kPanelBytes);
      _tile_loadd(7, b + 16 * k * kPanel + 16, kPanelBytes);
      _tile_dpbf16ps(0, 4, 6);
      _tile_dpbf16ps(1, 4, 7);
      _tile_dpbf16ps(2, 5, 6);
      _tile_dpbf16ps(3, 5, 7);
    }
  }

  static void store_block(float* c, int64_t row_floats) {
    const int64_t bytes = row_floats * 4;
    _tile_stored(0, c, bytes);
    _tile_stored(1, c + 16, bytes);
    _tile_stored(2, c + 16 * row_floats, bytes);
    _tile_stored(3, c + 16 * row_floats + 16, bytes);
  }

  static void load_block(const float* c, int64_t row_floats) {
    const int64_t bytes = row_floats * 4;
    _tile_loadd(0, c, bytes);
    _tile_loadd(1, c + 16, bytes);
    _tile_loadd(2, c + 16 * row_floats, bytes);
    _tile_loadd(3, c + 16 * row_floats + 16, bytes);
  }

  // Scores of the key tile: 32 × 32 blocks over the head dims (padded with zero pairs to `half`
  // words, a multiple of 16), then the scale on AVX-512 (the pair path keeps q unscaled so that
  // its bf16 values are q's own).
  static void scores(const uint32_t* q, int64_t half, int64_t, const uint32_t* kt, int64_t rows, int64_t cols,
                     float* s, float scale) {
    memory_barrier();
    for (int64_t c = 0; c < cols; c += kPanel) {
      const uint32_t* panel = kt + (c / kPanel) * (half * kPanel);
      for (int64_t r = 0; r < rows; r += kRowBlock) {
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
        multiply_block(q + r * half, half * 4, panel, half / 16);
        store_block(s + r * kKeyTile + c, kKeyTile);
      }
    }
    memory_barrier();
    const __m512 factor = _mm512_set1_ps(scale);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; c += 16) {
        float* x = s + r * kKeyTile + c;
        _mm512_storeu_ps(x, _mm512_mul_ps(_mm512_loadu_ps(x), factor));
      }
  }

  // o += w · v: 32 × 32 blocks of o loaded into the accumulators, 32 keys per step (the weights of
  // keys past `count` are zero, and so are their v pairs).
  static void accumulate(const uint32_t* w, const uint32_t* vp, int64_t rows, int64_t count, int64_t dp, float* o) {
    const int64_t steps = ceil_div(count, 32);
    memory_barrier();
    for (int64_t d0 = 0; d0 < dp; d0 += kPanel) {
      const uint32_t* panel = vp + (d0 / kPanel) * (kKeyTile / 2 * kPanel);
      for (int64_t r = 0; r < rows; r += kRowBlock) {
        float* block = o + r * dp + d0;
        load_block(block, dp);
        multiply_block(w + r * (kKeyTile / 2), kKeyTile * 2, panel, steps);
        store_block(block, dp);
      }
    }
    memory_barrier();
  }
};

static_assert(2 * Avx512Bf16Vec::kWidth == AmxProducts::kPanel, "the pair layout's panels must be the tiles' columns");
static_assert(kQueryTile % AmxProducts::kRowBlock == 0 && kKeyTile % 32 == 0, "tile sizes must fit the AMX blocks");

}  // namespace

bool fused_amx_compiled() { return true; }
void fused_run_amx(const FusedProblem& problem) {
  run_fused_pairs<Avx512Bf16Vec, AmxProducts>(problem);
}

}  // namespace osp::attention::detail

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#else  // no AMX build on this compiler / architecture / operating system

#include "osp/core/error.h"

namespace osp::attention::detail {
bool fused_amx_usable() { return false; }
bool fused_amx_compiled() { return false; }
void fused_run_amx(const FusedProblem&) { fail("fused_attention: this build has no AMX kernel"); }
}  // namespace osp::attention::detail
#endif
