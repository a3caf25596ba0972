#pragma once
// Checkpoint conversion to one safetensors file (`osp convert`), planned then streamed: the plan
// fixes output names, dtypes and shapes so that the writer can put the header first and append
// one tensor at a time.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "osp/io/safetensors_header.h"
#include "osp/io/tensor_source.h"

namespace osp::io {

struct ConvertItem {
  std::string source_name;
  TensorDecl output;  // name, dtype and shape in the output file
};

struct ConvertPlan {
  std::shared_ptr<TensorSource> source;
  std::string out_path;
  std::vector<ConvertItem> tensors;
  std::string description;  // e.g. "sharded safetensors (3 files), diffusers names -> wan, to BF16"
};

// Parses `dtype` ("" keeps each tensor's type; bf16 | f16 | f32 cast floating-point tensors only).
// Canonical Wan names are used when the input is a Wan DiT, unless keep_names.
ConvertPlan plan_conversion(const std::string& in, const std::string& out, const std::string& dtype, bool keep_names);

// Writes the planned file; calls on_tensor after each tensor.
void run_conversion(const ConvertPlan& plan, const std::function<void()>& on_tensor);

}  // namespace osp::io
