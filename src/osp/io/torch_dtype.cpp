#include "osp/io/torch_dtype.h"

#include "osp/core/error.h"
#include "osp/core/torch_compat.h"

namespace osp::io {

std::optional<c10::ScalarType> scalar_type_of(DType dtype) {
  switch (dtype) {
    case DType::kF64: return at::kDouble;
    case DType::kF32: return at::kFloat;
    case DType::kF16: return at::kHalf;
    case DType::kBF16: return at::kBFloat16;
    case DType::kI64: return at::kLong;
    case DType::kI32: return at::kInt;
    case DType::kI16: return at::kShort;
    case DType::kI8: return at::kChar;
    case DType::kU8: return at::kByte;
    case DType::kBool: return at::kBool;
#if OSP_TORCH_AT_LEAST(2, 1)
    case DType::kF8E4M3: return at::kFloat8_e4m3fn;
    case DType::kF8E5M2: return at::kFloat8_e5m2;
#else
    case DType::kF8E4M3:
    case DType::kF8E5M2: return std::nullopt;
#endif
  }
  return std::nullopt;
}

DType dtype_of(c10::ScalarType type) {
  for (int i = 0; i <= static_cast<int>(DType::kF8E5M2); ++i) {
    const auto dtype = static_cast<DType>(i);
    if (scalar_type_of(dtype) == type) return dtype;
  }
  fail("tensors of type {} cannot be stored in a checkpoint", c10::toString(type));
}

}  // namespace osp::io
