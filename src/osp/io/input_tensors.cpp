#include "osp/core/shape.h"
#include "osp/io/input_tensors.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "osp/core/error.h"

namespace osp::io {

at::Tensor load_input_tensor(const TensorSource& source, const std::string& name, DType dtype, int64_t rank) {
  if (!source.contains(name)) fail_about(source.path(), "missing tensor '{}'", name);
  const TensorMeta& meta = source.meta(name);
  if (meta.dtype != dtype)
    fail_about(source.path(), "tensor '{}' has dtype {}, expected {}", name, dtype_name(meta.dtype), dtype_name(dtype));
  if (rank >= 0 && static_cast<int64_t>(meta.shape.size()) != rank)
    fail_about(source.path(), "tensor '{}' has shape {}, expected {} dimensions", name, shape_string(meta.shape), rank);
  return source.load(name);
}

}  // namespace osp::io
