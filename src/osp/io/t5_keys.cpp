// HF UMT5EncoderModel names → Wan umT5 names (docs/text-encoder.md "Checkpoint keys").
#include "osp/io/t5_keys.h"

#include <map>
#include <regex>

namespace osp::io {
namespace {

std::string strip_wrapper_prefixes(std::string name) {
  for (const char* prefix : {"module.", "_orig_mod."}) {
    while (name.rfind(prefix, 0) == 0) name.erase(0, std::string(prefix).size());
  }
  return name;
}

// HF UMT5 block-local names → Wan names (docs/text-encoder.md "Checkpoint keys").
std::optional<std::string> hf_block_key(const std::string& layer, const std::string& rest) {
  static const std::map<std::string, std::string> kLayer0 = {
      {"layer_norm.weight", "norm1.weight"},
      {"SelfAttention.q.weight", "attn.q.weight"},
      {"SelfAttention.k.weight", "attn.k.weight"},
      {"SelfAttention.v.weight", "attn.v.weight"},
      {"SelfAttention.o.weight", "attn.o.weight"},
      {"SelfAttention.relative_attention_bias.weight", "pos_embedding.embedding.weight"}};
  static const std::map<std::string, std::string> kLayer1 = {{"layer_norm.weight", "norm2.weight"},
                                                             {"DenseReluDense.wi_0.weight", "ffn.gate.0.weight"},
                                                             {"DenseReluDense.wi_1.weight", "ffn.fc1.weight"},
                                                             {"DenseReluDense.wo.weight", "ffn.fc2.weight"}};
  const auto& table = layer == "0" ? kLayer0 : kLayer1;
  const auto it = table.find(rest);
  if (it == table.end()) return std::nullopt;
  return it->second;
}

bool is_wan_key(const std::string& name) {
  static const std::regex wan(
      R"((token_embedding\.weight|norm\.weight|blocks\.\d+\.(norm1|norm2|attn\.[qkvo]|ffn\.gate\.0|ffn\.fc1|ffn\.fc2|pos_embedding\.embedding)\.weight))");
  return std::regex_match(name, wan);
}

}  // namespace

std::optional<std::string> canonical_t5_key(const std::string& source_name) {
  const std::string name = strip_wrapper_prefixes(source_name);
  if (is_wan_key(name)) return name;
  if (name == "shared.weight" || name == "encoder.embed_tokens.weight") return std::string("token_embedding.weight");
  if (name == "encoder.final_layer_norm.weight") return std::string("norm.weight");
  static const std::regex block(R"(encoder\.block\.(\d+)\.layer\.([01])\.(.+))");
  std::smatch m;
  if (std::regex_match(name, m, block)) {
    if (auto rest = hf_block_key(m[2], m[3])) return "blocks." + m[1].str() + "." + *rest;
  }
  return std::nullopt;
}

KeyMapping map_t5_keys(const std::vector<std::string>& source_names) {
  KeyMapping mapping;
  bool any_hf = false;
  for (const std::string& name : source_names) {
    const auto canonical = canonical_t5_key(name);
    if (!canonical) {
      mapping.unexpected.push_back(name);
      continue;
    }
    any_hf = any_hf || *canonical != strip_wrapper_prefixes(name);
    // HF ties shared.weight and encoder.embed_tokens.weight: the first one wins.
    mapping.canonical_to_source.emplace(*canonical, name);
  }
  mapping.layout = any_hf ? "hf" : "wan";
  return mapping;
}

}  // namespace osp::io
