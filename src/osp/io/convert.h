#pragma once
// Checkpoint conversion to one safetensors file (`osp convert`), planned then streamed: the plan
// fixes output names, dtypes and shapes so that the writer can put the header first and append
// one tensor at a time.
#include <functional>
#include <map>
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
  std::map<std::string, std::string> metadata = {{"format", "pt"}};  // the output file's header metadata
};

// Rewrites one tensor on its way out (given its output name; same shape and dtype back), e.g. a
// merged LoRA (adapters/merge_checkpoint.h).
using TensorTransform = std::function<at::Tensor(const std::string& output_name, at::Tensor tensor)>;

// Parses `dtype` ("" keeps each tensor's type; bf16 | f16 | f32 cast floating-point tensors only).
// Canonical Wan names are used when the input is a Wan DiT, unless keep_names.
ConvertPlan plan_conversion(const std::string& in, const std::string& out, const std::string& dtype, bool keep_names);
// The same for a source already open (a training checkpoint's weights, train/sharded_checkpoint_source.h).
ConvertPlan plan_conversion(std::shared_ptr<TensorSource> source, const std::string& out, const std::string& dtype,
                            bool keep_names);

// Writes the planned file; calls on_tensor after each tensor. `transform` (optional) rewrites
// tensors before they are written.
void run_conversion(const ConvertPlan& plan, const std::function<void()>& on_tensor,
                    const TensorTransform& transform = {});

}  // namespace osp::io
