#pragma once
// Precision policy, passed down from the pipeline (docs/design.md "Conventions": never a scattered .to(kBFloat16)).
// fp32: everything float32, the reference mode. bf16: the official Wan mixed precision
// (docs/dit.md "Precision"): bf16 linears and attention operands with fp32 accumulation, fp32 norm
// statistics, modulation, residual stream and head.
#include <c10/core/ScalarType.h>

#include <string>

namespace osp {

enum class PrecisionMode { kFp32, kBf16 };

struct Precision {
  PrecisionMode mode = PrecisionMode::kFp32;

  // dtype of GEMM / attention operands and of the big linear weights.
  c10::ScalarType compute() const { return mode == PrecisionMode::kBf16 ? c10::kBFloat16 : c10::kFloat; }
  // dtype of the residual stream, modulation, norm statistics and the head: always float32.
  static constexpr c10::ScalarType residual() { return c10::kFloat; }
  bool reduced() const { return mode != PrecisionMode::kFp32; }

  std::string name() const;
  // Parses "fp32" | "bf16" (also "float32" / "bfloat16"); throws osp::Error naming `flag`.
  static Precision parse(const std::string& text, const std::string& flag = "--precision");
};

}  // namespace osp
