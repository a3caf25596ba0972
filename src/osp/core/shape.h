#pragma once
// Shapes in messages: "[2, 16, 5, 60, 104]". One spelling for every error that names a shape.
#include <c10/util/ArrayRef.h>

#include <cstdint>
#include <string>

namespace osp {

inline std::string shape_string(c10::IntArrayRef shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

}  // namespace osp
