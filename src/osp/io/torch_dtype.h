#pragma once
// File element types (osp::io::DType) to LibTorch scalar types and back.
#include <c10/core/ScalarType.h>

#include <optional>

#include "osp/io/dtype.h"

namespace osp::io {

// The LibTorch type of `dtype`; nullopt for the float8 types on LibTorch < 2.1 (no such type).
std::optional<c10::ScalarType> scalar_type_of(DType dtype);

// The file type of a LibTorch type; throws osp::Error for types no checkpoint format stores.
DType dtype_of(c10::ScalarType type);

}  // namespace osp::io
