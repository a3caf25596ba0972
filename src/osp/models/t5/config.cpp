#include "osp/models/t5/config.h"

#include <fstream>

#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/io/json_file.h"

namespace osp::t5 {
namespace {

using nlohmann::json;

int64_t integer_field(const json& j, const char* key, int64_t fallback, const std::string& source) {
  if (!j.contains(key) || j.at(key).is_null()) return fallback;
  const json& v = j.at(key);
  if (!v.is_number_integer()) fail_about(source, "field '{}' must be an integer, got {}", key, v.dump());
  return v.get<int64_t>();
}

// The FFN must be the gated tanh-GELU of docs/text-encoder.md "Gated-GELU feed-forward" (umT5, T5 v1.1); HF spells it two ways.
void check_feed_forward(const json& j, const std::string& source) {
  if (j.contains("feed_forward_proj") && j.at("feed_forward_proj").is_string()) {
    const std::string proj = j.at("feed_forward_proj").get<std::string>();
    if (proj != "gated-gelu" && proj != "gated-gelu_new") {
      fail_about(source, "field 'feed_forward_proj' = '{}': only the gated GELU FFN of umT5 is supported", proj);
    }
  }
  if (j.contains("is_gated_act") && j.at("is_gated_act").is_boolean() && !j.at("is_gated_act").get<bool>()) {
    fail_about(source, "field 'is_gated_act' = false: only the gated GELU FFN of umT5 is supported");
  }
}

}  // namespace

void T5Config::validate() const {
  const std::pair<const char*, int64_t> positive[] = {
      {"vocab_size", vocab_size}, {"d_model", d_model}, {"d_kv", d_kv}, {"d_ff", d_ff}, {"num_heads", num_heads},
      {"num_layers", num_layers}, {"text_len", text_len}};
  for (const auto& [name, value] : positive) {
    if (value < 1) fail_about("T5 config", "field '{}' must be at least 1, got {}", name, value);
  }
  // Bidirectional buckets: half per direction, of which half exact ("Relative position buckets").
  if (num_buckets < 4 || num_buckets % 4 != 0) {
    fail_about("T5 config", "relative_attention_num_buckets must be a positive multiple of 4, got {}", num_buckets);
  }
  if (max_distance <= num_buckets / 4) {
    fail_about("T5 config", "relative_attention_max_distance {} must exceed the exact range {}", max_distance,
               num_buckets / 4);
  }
  if (!(eps > 0)) fail_about("T5 config", "layer_norm_epsilon must be positive, got {}", eps);
}

T5Config T5Config::from_json(const json& j, const std::string& source) {
  if (!j.is_object()) fail_about(source, "expected a JSON object");
  if (j.contains("model_type") && j.at("model_type").is_string()) {
    const std::string type = j.at("model_type").get<std::string>();
    if (type != "umt5" && type != "t5") log::warn("{}: model_type '{}' is not umt5; reading the T5 fields", source, type);
  }
  check_feed_forward(j, source);
  T5Config c;
  c.vocab_size = integer_field(j, "vocab_size", c.vocab_size, source);
  c.d_model = integer_field(j, "d_model", c.d_model, source);
  c.d_kv = integer_field(j, "d_kv", c.d_kv, source);
  c.d_ff = integer_field(j, "d_ff", c.d_ff, source);
  c.num_heads = integer_field(j, "num_heads", c.num_heads, source);
  c.num_layers = integer_field(j, "num_layers", c.num_layers, source);
  c.num_buckets = integer_field(j, "relative_attention_num_buckets", c.num_buckets, source);
  c.max_distance = integer_field(j, "relative_attention_max_distance", c.max_distance, source);
  c.text_len = integer_field(j, "text_len", c.text_len, source);
  if (j.contains("layer_norm_epsilon") && !j.at("layer_norm_epsilon").is_null()) {
    if (!j.at("layer_norm_epsilon").is_number()) fail_about(source, "field 'layer_norm_epsilon' must be a number");
    c.eps = j.at("layer_norm_epsilon").get<double>();
  }
  try {
    c.validate();
  } catch (const Error& e) {
    fail_about(source, "{}", e.what());
  }
  return c;
}

T5Config T5Config::from_file(const std::string& path) {
  return from_json(io::read_json_file(path, "T5 config"), path);
}

json T5Config::to_json() const {
  return {{"model_type", "umt5"},
          {"vocab_size", vocab_size},
          {"d_model", d_model},
          {"d_kv", d_kv},
          {"d_ff", d_ff},
          {"num_heads", num_heads},
          {"num_layers", num_layers},
          {"relative_attention_num_buckets", num_buckets},
          {"relative_attention_max_distance", max_distance},
          {"layer_norm_epsilon", eps},
          {"feed_forward_proj", "gated-gelu"},
          {"text_len", text_len}};
}

std::vector<std::pair<std::string, std::vector<int64_t>>> T5Config::expected_tensor_shapes() const {
  std::vector<std::pair<std::string, std::vector<int64_t>>> s;
  s.push_back({"token_embedding.weight", {vocab_size, d_model}});
  for (int64_t i = 0; i < num_layers; ++i) {
    const std::string b = "blocks." + std::to_string(i) + ".";
    s.push_back({b + "norm1.weight", {d_model}});
    for (const char* p : {"q", "k", "v"}) s.push_back({b + "attn." + p + ".weight", {inner_dim(), d_model}});
    s.push_back({b + "attn.o.weight", {d_model, inner_dim()}});
    s.push_back({b + "norm2.weight", {d_model}});
    s.push_back({b + "ffn.gate.0.weight", {d_ff, d_model}});
    s.push_back({b + "ffn.fc1.weight", {d_ff, d_model}});
    s.push_back({b + "ffn.fc2.weight", {d_model, d_ff}});
    s.push_back({b + "pos_embedding.embedding.weight", {num_buckets, num_heads}});
  }
  s.push_back({"norm.weight", {d_model}});
  return s;
}

int64_t T5Config::parameter_count() const {
  int64_t total = 0;
  for (const auto& item : expected_tensor_shapes()) {
    int64_t n = 1;
    for (int64_t d : item.second) n *= d;
    total += n;
  }
  return total;
}

double T5Config::forward_flops(int64_t batch) const {
  const double tokens = static_cast<double>(batch) * text_len;
  const double linear = 2.0 * tokens * (4.0 * d_model * inner_dim() + 3.0 * d_model * d_ff);
  const double core = 4.0 * batch * static_cast<double>(text_len) * text_len * inner_dim();
  return (linear + core) * num_layers;
}

}  // namespace osp::t5
