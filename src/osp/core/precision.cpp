#include "osp/core/precision.h"

#include "osp/core/error.h"

namespace osp {

std::string Precision::name() const { return mode == PrecisionMode::kBf16 ? "bf16" : "fp32"; }

Precision Precision::parse(const std::string& text, const std::string& flag) {
  if (text == "fp32" || text == "float32") return Precision{PrecisionMode::kFp32};
  if (text == "bf16" || text == "bfloat16") return Precision{PrecisionMode::kBf16};
  fail_about(flag, "unknown precision '{}' (expected fp32 or bf16)", text);
}

}  // namespace osp
