#include "osp/io/tensor_copy.h"

#include <c10/util/irange.h>
#include <c10/util/strides.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "osp/core/error.h"
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

at::Tensor copy_releasing(const MappedFile& file, uint64_t offset, DType stored, at::IntArrayRef shape,
                          std::optional<at::ScalarType> dtype) {
  constexpr uint64_t kSliceBytes = uint64_t{64} << 20;
  int64_t numel = 1;
  for (const int64_t n : shape) numel *= n;
  const uint64_t bytes = static_cast<uint64_t>(numel) * dtype_size(stored);
  const auto type = scalar_type_of(stored);
  if (type && (!dtype || *dtype == *type)) {
    // The bytes as they are: read straight into the result, without touching the map.
    at::Tensor out = at::empty(shape, at::TensorOptions().dtype(*type));
    file.read(offset, bytes, out.data_ptr());
    return out;
  }
  if (shape.empty() || shape[0] <= 1 || bytes <= kSliceBytes) {
    at::Tensor out = copy_tensor(file.data() + offset, stored, shape, dtype);
    file.release(offset, bytes);
    return out;
  }
  const int64_t rows = shape[0];
  const uint64_t row_bytes = bytes / static_cast<uint64_t>(rows);
  const int64_t per_slice = std::max<int64_t>(1, static_cast<int64_t>(kSliceBytes / std::max<uint64_t>(row_bytes, 1)));
  std::vector<int64_t> slice_shape(shape.begin(), shape.end());
  at::Tensor out;
  for (int64_t first = 0; first < rows; first += per_slice) {
    const int64_t count = std::min(per_slice, rows - first);
    slice_shape[0] = count;
    const uint64_t slice_offset = offset + static_cast<uint64_t>(first) * row_bytes;
    const at::Tensor part = copy_tensor(file.data() + slice_offset, stored, slice_shape, dtype);
    if (!out.defined()) out = at::empty(shape, part.options());
    out.narrow(0, first, count).copy_(part);
    file.release(slice_offset, static_cast<uint64_t>(count) * row_bytes);
  }
  return out;
}

void check_rows(at::IntArrayRef shape, const std::vector<int64_t>& rows, const std::string& subject) {
  if (shape.empty()) fail_about(subject, "a 0-dimensional tensor has no rows");
  for (const int64_t row : rows) {
    if (row < 0 || row >= shape[0]) fail_about(subject, "row {} is outside [0, {})", row, shape[0]);
  }
}

at::Tensor copy_rows(const MappedFile& file, uint64_t offset, DType stored, at::IntArrayRef shape,
                     const std::vector<int64_t>& rows, std::optional<at::ScalarType> dtype, const std::string& subject) {
  check_rows(shape, rows, subject);
  const std::vector<int64_t> row_shape(shape.begin() + 1, shape.end());
  int64_t row_numel = 1;
  for (const int64_t n : row_shape) row_numel *= n;
  const uint64_t row_bytes = static_cast<uint64_t>(row_numel) * dtype_size(stored);
  std::vector<at::Tensor> out;
  out.reserve(rows.size());
  for (const int64_t row : rows) {
    const uint64_t at_row = offset + static_cast<uint64_t>(row) * row_bytes;
    out.push_back(copy_tensor(file.data() + at_row, stored, row_shape, dtype));
    file.release(at_row, row_bytes);
  }
  if (out.empty()) {
    std::vector<int64_t> empty_shape(shape.begin(), shape.end());
    empty_shape[0] = 0;
    return at::empty(empty_shape, at::TensorOptions(dtype ? *dtype : *scalar_type_of(stored)));
  }
  return at::stack(out);
}

}  // namespace osp::io
