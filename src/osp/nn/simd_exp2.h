// A vectorised 2^x written once over a SIMD vector type V (the interface of the attention kernel's
// vector types: fused_cpu_kernel.h), shared by the fused attention's softmax and the GELU kernel.
// Include it only after the translation unit switched its target ISA on; everything here has
// internal linkage, so each ISA's translation unit keeps its own instantiation.

namespace osp::simd {
namespace {

// 2^x for x ≤ 127 (x < -126 gives 0): 2^x = 2^n · e^(f·ln 2), n = round(x), |f| ≤ 1/2, with
// the Cephes expf polynomial (relative error ~1e-7).
template <class V>
inline typename V::Reg exp2_poly(typename V::Reg x) {
  using R = typename V::Reg;
  // Clamp with x as the second operand: min/max return it when it is NaN (x86 semantics, and
  // ScalarVec's), so NaN scores stay NaN instead of becoming 2^127.
  const R xc = V::max(V::set1(-127.0f), V::min(V::set1(127.0f), x));
  const R n = V::round_nearest(xc);
  const R g = V::mul(V::sub(xc, n), V::set1(0.693147180559945309f));
  R y = V::set1(1.9875691500e-4f);
  y = V::fma(y, g, V::set1(1.3981999507e-3f));
  y = V::fma(y, g, V::set1(8.3334519073e-3f));
  y = V::fma(y, g, V::set1(4.1665795894e-2f));
  y = V::fma(y, g, V::set1(1.6666665459e-1f));
  y = V::fma(y, g, V::set1(5.0000001201e-1f));
  y = V::add(V::fma(y, V::mul(g, g), g), V::set1(1.0f));
  return V::zero_where_below(x, V::set1(-126.0f), V::mul(y, V::pow2_of_integral(n)));
}

}  // namespace
}  // namespace osp::simd
