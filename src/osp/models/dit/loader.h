#pragma once
// Loading Wan DiT weights from any checkpoint layout the io layer reads (docs/dit.md "Checkpoint keys", "Key-name variants").
#include <c10/core/Device.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "osp/core/precision.h"
#include "osp/io/load_report.h"
#include "osp/io/tensor_source.h"
#include "osp/models/dit/config.h"
#include "osp/models/dit/model.h"
#include "osp/quant/checkpoint.h"

namespace osp::dit {

using io::LoadReport;
using io::ShapeMismatch;

// What loading `params` from a checkpoint reads: the file's names mapped to canonical ones, its
// 8-bit weights, and the checks' report. Every parameter is compared with the file first (missing
// tensors and wrong shapes throw osp::Error naming them, up to 10); unexpected tensors are logged
// as a warning and listed in the report.
struct LoadPlan {
  io::KeyMapping mapping;
  quant::QuantizedTensors quantized;
  LoadReport report;
};
LoadPlan plan_weights(const torch::OrderedDict<std::string, at::Tensor>& params, const io::TensorSource& source);

// The linear layer of `model` whose weight is the parameter `name` ("blocks.0.ffn.0.weight");
// osp::Error naming `source` when `name` is not a linear's weight (8-bit codes for a bias, …).
nn::LinearWeights& linear_with_weight(WanDiT& model, const std::string& name, const io::TensorSource& source);

// Copies every parameter of `model` from `source`, mapping the file's names to canonical names
// with io::map_dit_keys and loading one tensor at a time straight into the parameter (converted
// to the parameter's dtype; never a second copy of the whole model). Missing tensors and shape
// mismatches throw osp::Error naming the tensors (up to 10) and shapes; unexpected tensors are
// logged as a warning and listed in the report. 8-bit weights (`<name>` U8 or F8_E4M3 codes with
// `<name>.scale`, quant/checkpoint.h) stay codes: the linear keeps them and frees its dense weight.
LoadReport load_weights(WanDiT& model, const io::TensorSource& source);

// The same checks, but each parameter's values (in the parameter's dtype) go to `visit` one tensor
// at a time instead of into the model: `params` may hold no storage (shapes and dtypes only), as
// when fully sharded training builds the model shard by shard. 8-bit checkpoints are not streamed.
LoadReport for_each_checkpoint_weight(const torch::OrderedDict<std::string, at::Tensor>& params,
                                      const io::TensorSource& source,
                                      const std::function<void(const std::string&, const at::Tensor&)>& visit);

// Resolves `weights_path` (a weights file, index or directory; a diffusers pipeline's transformer/)
// and its config: `config_path` when given; else config.json beside a weights file, or inside a
// weights directory. The DiT has no default config: throws osp::Error "no config.json in DIR (pass
// --config)" when none is found, so `config` is always set.
io::ComponentFiles resolve_dit_paths(const std::string& weights_path, const std::optional<std::string>& config_path);
// The config path alone.
std::string find_config(const std::string& weights_path, const std::optional<std::string>& config_path);

// Opens the weights, reads the config, builds the model and loads it. `adjust` (optional) edits
// the config before the model is built (command-line overrides such as --quant).
std::unique_ptr<WanDiT> load_dit(const std::string& weights_path, const std::optional<std::string>& config_path,
                                 Precision precision, c10::Device device,
                                 const std::function<void(DiTConfig&)>& adjust = {});

// A checkpoint's model whose values are not read yet: built from its config with allocated but
// unwritten parameters (no resident memory until written), and the resolved weights file whose
// tensors a fully sharded run streams into its shards (for_each_checkpoint_weight).
struct UnloadedDiT {
  std::unique_ptr<WanDiT> model;
  std::string weights;
};
UnloadedDiT build_unloaded_dit(const std::string& weights_path, const std::optional<std::string>& config_path,
                               Precision precision, c10::Device device,
                               const std::function<void(DiTConfig&)>& adjust = {});

// What a checkpoint holds, judged from its tensor shapes alone (for `osp info`).
struct ArchitectureGuess {
  std::string name;    // "Wan2.1 1.3B", "Wan2.1 14B", or "unknown Wan DiT (dim=…)"
  std::string preset;  // matching preset name, or empty
  DiTConfig config;    // dimensions read from the shapes; num_heads assumes head_dim 128
  std::string layout;  // key layout of the file
};

// patch_embedding.weight shape[0]: 1536 → 1.3B, 5120 → 14B ("Key-name variants" detection rule); the other
// dimensions from the embedding, FFN and head shapes and the number of blocks. Throws osp::Error
// when the source holds no Wan DiT (no patch_embedding.weight / head.modulation).
ArchitectureGuess detect_architecture(const io::TensorSource& source);

}  // namespace osp::dit
