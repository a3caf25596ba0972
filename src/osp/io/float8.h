#pragma once
// Float8 decoding for LibTorch builds without float8 types (< 2.1): the OCP 8-bit formats that
// safetensors calls F8_E4M3 (e4m3fn: bias 7, no infinities, NaN = S.1111.111) and F8_E5M2
// (IEEE-like: bias 15, infinities and NaNs).
#include <ATen/ATen.h>

#include "osp/io/dtype.h"

namespace osp::io {

// Exact float value of one float8 code of `dtype` (kF8E4M3 or kF8E5M2).
float decode_float8(uint8_t code, DType dtype);

// Decodes a uint8 tensor of codes to a float32 tensor of the same shape.
at::Tensor decode_float8(const at::Tensor& codes, DType dtype);

}  // namespace osp::io
