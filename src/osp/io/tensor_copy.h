#pragma once
// Copying a tensor out of a checkpoint's bytes (a mapped file) into memory LibTorch owns.
#include <ATen/ATen.h>

#include <optional>

#include "osp/io/dtype.h"

namespace osp::io {

// An owned, contiguous copy of the strided view at `first` (the view's first element; the caller
// has checked that the whole view lies inside its buffer). Converted to `dtype` when given; float8
// decodes to float32 first where LibTorch has no float8 types. The conversion happens during the
// copy, so a float32 tensor loaded as bf16 never exists in memory as float32.
at::Tensor copy_tensor(const uint8_t* first, DType stored, at::IntArrayRef shape, at::IntArrayRef stride,
                       std::optional<at::ScalarType> dtype);

// The same for a contiguous view.
at::Tensor copy_tensor(const uint8_t* first, DType stored, at::IntArrayRef shape, std::optional<at::ScalarType> dtype);

}  // namespace osp::io
