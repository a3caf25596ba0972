// Internal to the fused CPU attention kernel: the AVX-512 BF16 vector type of fused_cpu_pairs.h
// (Avx512Vec plus bf16 pair words), shared by the AVX-512 BF16 and the AMX translation units.
// Include it only where AVX-512F and AVX-512 BF16 are the target (after the target pragma), after
// fused_cpu_avx512_vec.h.

namespace osp::attention::detail {
namespace {

struct Avx512Bf16Vec : Avx512Vec {
  using Words = __m512i;
  static Words load_words(const uint32_t* p) { return _mm512_loadu_si512(p); }
  static Words broadcast_word(const uint32_t* p) { return _mm512_set1_epi32(static_cast<int>(*p)); }
  static Reg dot_pairs(Reg acc, Words a, Words b) { return _mm512_dpbf16_ps(acc, (__m512bh)a, (__m512bh)b); }
  // 32 floats → 32 bf16 (round to nearest even), in order: 16 words of consecutive pairs.
  static void store_bf16_pairs(const float* src, uint32_t* dst) {
    const __m512bh packed = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + 16), _mm512_loadu_ps(src));
    _mm512_storeu_si512(dst, (__m512i)packed);
  }
};

}  // namespace
}  // namespace osp::attention::detail
