#pragma once
// Reading the named input tensors of a command (`osp dit-forward --in IN.safetensors`): presence,
// dtype and rank are checked here so that every command reports bad inputs the same way.
#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "osp/core/shape.h"
#include "osp/io/tensor_source.h"

namespace osp::io {

// Loads `name` from `source`, requiring the stored dtype `dtype` and rank `rank` (-1: any).
// Errors name the file, the tensor and what was found.
at::Tensor load_input_tensor(const TensorSource& source, const std::string& name, DType dtype, int64_t rank = -1);

}  // namespace osp::io
