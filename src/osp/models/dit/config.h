#pragma once
// Configuration of a Wan 2.1 DiT (docs/dit.md "Configurations", "Key-name variants", "Config files") plus the OSP-Next block-schedule
// fields (docs/skiparse.md "Block schedule").
#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace osp::dit {

struct DiTConfig {
  int64_t dim = 1536;
  int64_t ffn_dim = 8960;
  int64_t num_heads = 12;
  int64_t num_layers = 30;
  int64_t freq_dim = 256;
  int64_t in_dim = 16;
  int64_t out_dim = 16;
  int64_t text_dim = 4096;
  int64_t text_len = 512;
  std::array<int64_t, 3> patch_size{1, 2, 2};
  double eps = 1e-6;
  bool qk_norm = true;          // RMSNorm across heads on q and k (only true is supported)
  bool cross_attn_norm = true;  // affine norm3 before cross-attention (only true is supported)
  int64_t rope_max_seq_len = 1024;  // RoPE positions tabulated per axis

  // OSP-Next (docs/skiparse.md "Block schedule"): "full" (plain Wan) or "dual_end".
  std::string skiparse_model_type = "full";
  int64_t sparse_ratio = 1;     // P, stride per spatial axis (forced to 1 for "full")
  int64_t num_full_blocks = 0;  // F for "dual_end"

  // OSP-Next HiF8 fake quantization (docs/quantization.md "HiF8 configuration fields"): "" (JSON null) or "hif8" each.
  std::string quant;       // the linears of the OSP-Next layer set ("Quantized layer set")
  std::string quant_attn;  // Q/K/V before attention ("Q/K/V fake quantization")
  double scale_max_forward = 15.0;
  double scale_max_backward = 224.0;

  // Fields of the parsed JSON that this parser does not know (each also logged as a warning).
  std::vector<std::string> unknown_fields;

  int64_t head_dim() const { return dim / num_heads; }
  int64_t patch_volume() const { return patch_size[0] * patch_size[1] * patch_size[2]; }
  bool is_sparse() const { return skiparse_model_type != "full"; }

  // Throws osp::Error naming the offending field for an inconsistent configuration.
  void validate() const;

  // Original WanModel config.json (docs/dit.md "Config files"), diffusers WanTransformer3DModel transformer/config.json
  // ("Key-name variants"), with OSP-Next fields in either. `source` names the file in messages.
  static DiTConfig from_json(const nlohmann::json& json, const std::string& source = "config");
  static DiTConfig from_file(const std::string& path);
  // "wan2.1-t2v-1.3b", "wan2.1-t2v-14b", "osp-next-14b"; osp::Error listing them otherwise.
  static DiTConfig preset(const std::string& name);
  static std::vector<std::string> preset_names();

  // Original-style JSON (WanModel fields plus OSP-Next fields); from_json(to_json()) round-trips.
  nlohmann::json to_json() const;

  // "Wan2.1 1.3B", "Wan2.1 14B", "OSP-Next 14B", else "tiny (dim=…, layers=…)".
  std::string arch_name() const;

  // Canonical state-dict names and shapes in the order of "Checkpoint keys".
  std::vector<std::pair<std::string, std::vector<int64_t>>> expected_tensor_shapes() const;
  int64_t parameter_count() const;
};

}  // namespace osp::dit
