#pragma once
// Element types found in checkpoint files, independent of LibTorch (the parsers are LibTorch-free
// so that they can run under sanitizers and fuzzers on their own).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace osp::io {

enum class DType : uint8_t { kF64, kF32, kF16, kBF16, kI64, kI32, kI16, kI8, kU8, kBool, kF8E4M3, kF8E5M2 };

// Bytes per element.
size_t dtype_size(DType dtype);
// The safetensors spelling: "F64", "F32", "F16", "BF16", "I64", …, "F8_E4M3", "F8_E5M2".
const char* dtype_name(DType dtype);
// Parses the safetensors spelling; nullopt for anything else.
std::optional<DType> dtype_from_name(std::string_view name);

}  // namespace osp::io
