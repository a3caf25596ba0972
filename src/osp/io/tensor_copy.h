#pragma once
// Copying a tensor out of a checkpoint's bytes (a mapped file) into memory LibTorch owns.
#include <ATen/ATen.h>

#include <optional>
#include <string>
#include <vector>

#include "osp/io/dtype.h"
#include "osp/io/mapped_file.h"

namespace osp::io {

// An owned, contiguous copy of the strided view at `first` (the view's first element; the caller
// has checked that the whole view lies inside its buffer). Converted to `dtype` when given; float8
// decodes to float32 first where LibTorch has no float8 types. The conversion happens during the
// copy, so a float32 tensor loaded as bf16 never exists in memory as float32.
at::Tensor copy_tensor(const uint8_t* first, DType stored, at::IntArrayRef shape, at::IntArrayRef stride,
                       std::optional<at::ScalarType> dtype);

// The same for a contiguous view.
at::Tensor copy_tensor(const uint8_t* first, DType stored, at::IntArrayRef shape, std::optional<at::ScalarType> dtype);

// The contiguous copy of the contiguous view at byte `offset` of `file`. Without a dtype change it
// is read with pread straight into the result (no mapped pages at all); with one it is made in
// slices of about 64 MiB along dim 0 whose file pages are released as soon as they are copied: a
// 2 GiB embedding table then never has more than one slice of mapped pages resident beside its
// copy (the load must stay under 1.1× the weights, RSS included).
at::Tensor copy_releasing(const MappedFile& file, uint64_t offset, DType stored, at::IntArrayRef shape,
                          std::optional<at::ScalarType> dtype);

// Rows `rows` along dim 0 of the contiguous tensor at byte `offset` of `file` (shape `shape`), copied
// one by one and their pages released; osp::Error about `subject` for a row out of range or a
// 0-dimensional tensor.
at::Tensor copy_rows(const MappedFile& file, uint64_t offset, DType stored, at::IntArrayRef shape,
                     const std::vector<int64_t>& rows, std::optional<at::ScalarType> dtype, const std::string& subject);

// The checks of copy_rows alone (for sources that cannot read rows in place).
void check_rows(at::IntArrayRef shape, const std::vector<int64_t>& rows, const std::string& subject);

}  // namespace osp::io
