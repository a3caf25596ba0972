#include "osp/io/tensor_copy.h"

#include <c10/util/irange.h>
#include <c10/util/strides.h>

#include <cstring>

#include "osp/io/float8.h"
#include "osp/io/torch_dtype.h"

namespace osp::io {
namespace {

// Bytes from the first to one past the last element of a strided view (0 when empty).
size_t view_bytes(at::IntArrayRef shape, at::IntArrayRef stride, size_t element) {
  size_t last = 0;
  for (const auto i : c10::irange(shape.size())) {
    if (shape[i] == 0) return 0;
    last += static_cast<size_t>((shape[i] - 1) * stride[i]);
  }
  return (last + 1) * element;
}

// A tensor viewing the file's bytes. safetensors does not promise element alignment, and typed
// loads from misaligned addresses are undefined behaviour, so misaligned views copy the bytes to an
// aligned buffer first (`keep` owns it). The view is only read.
at::Tensor view_bytes_as(const uint8_t* first, at::ScalarType type, at::IntArrayRef shape, at::IntArrayRef stride,
                         at::Tensor& keep) {
  const size_t element = c10::elementSize(type);
  auto* data = const_cast<uint8_t*>(first);
  if (reinterpret_cast<uintptr_t>(first) % element != 0) {
    const size_t bytes = view_bytes(shape, stride, element);
    keep = at::empty({static_cast<int64_t>(bytes)}, at::kByte);
    if (bytes) std::memcpy(keep.data_ptr(), first, bytes);
    data = keep.data_ptr<uint8_t>();
  }
  return at::from_blob(data, shape, stride, at::TensorOptions().dtype(type));
}

}  // namespace

at::Tensor copy_tensor(const uint8_t* first, DType stored, at::IntArrayRef shape, at::IntArrayRef stride,
                       std::optional<at::ScalarType> dtype) {
  at::Tensor keep;
  if (const auto type = scalar_type_of(stored)) {
    const at::Tensor view = view_bytes_as(first, *type, shape, stride, keep);
    // copy=true: `to` would otherwise return the view itself when the type already matches.
    return view.to(dtype.value_or(*type), /*non_blocking=*/false, /*copy=*/true, at::MemoryFormat::Contiguous);
  }
  // float8 without LibTorch support: gather the codes, decode through the table.
  const at::Tensor codes = view_bytes_as(first, at::kByte, shape, stride, keep).contiguous();
  at::Tensor decoded = decode_float8(codes, stored);
  return dtype && *dtype != at::kFloat ? decoded.to(*dtype) : decoded;
}

at::Tensor copy_tensor(const uint8_t* first, DType stored, at::IntArrayRef shape, std::optional<at::ScalarType> dtype) {
  return copy_tensor(first, stored, shape, c10::contiguous_strides(shape), dtype);
}

}  // namespace osp::io
