#pragma once
// Configuration of the umT5 text encoder (docs/text-encoder.md "Configuration"); umt5-xxl is the default.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace osp::t5 {

struct T5Config {
  int64_t vocab_size = 256384;
  int64_t d_model = 4096;
  int64_t d_kv = 64;  // head dimension; inner width = num_heads · d_kv (need not equal d_model)
  int64_t d_ff = 10240;
  int64_t num_heads = 64;
  int64_t num_layers = 24;
  int64_t num_buckets = 32;    // relative_attention_num_buckets (bidirectional: half per direction)
  int64_t max_distance = 128;  // relative_attention_max_distance
  double eps = 1e-6;
  int64_t text_len = 512;  // tokens per prompt ("Tokenizer")

  int64_t inner_dim() const { return num_heads * d_kv; }

  // Throws osp::Error naming the field for an inconsistent configuration.
  void validate() const;

  // HF UMT5 config.json fields (d_model, d_kv, d_ff, num_heads, num_layers,
  // relative_attention_num_buckets, relative_attention_max_distance, vocab_size,
  // layer_norm_epsilon); absent fields keep the umt5-xxl value. Rejects a non-gated-GELU FFN.
  static T5Config from_json(const nlohmann::json& json, const std::string& source = "config");
  static T5Config from_file(const std::string& path);
  static T5Config umt5_xxl() { return {}; }

  // HF-style JSON; from_json(to_json()) round-trips.
  nlohmann::json to_json() const;

  // Canonical (Wan) state-dict names and shapes in the order of "Checkpoint keys".
  std::vector<std::pair<std::string, std::vector<int64_t>>> expected_tensor_shapes() const;
  int64_t parameter_count() const;

  // Multiply-add FLOPs (2 per MAC) of one forward over `batch` × text_len tokens: the linears and
  // the attention core ("Encoder cost").
  double forward_flops(int64_t batch) const;
};

}  // namespace osp::t5
