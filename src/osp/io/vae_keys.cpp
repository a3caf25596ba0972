// diffusers AutoencoderKLWan names → original Wan VAE names (docs/vae.md "Diffusers names").
#include "osp/io/vae_keys.h"

#include <fmt/format.h>

#include <map>
#include <regex>
#include <utility>
#include <vector>

namespace osp::io {
namespace {

// Residual block leaves (docs/vae.md "Diffusers names"): norm1.gamma → residual.0.gamma, conv1 → residual.2, norm2.gamma →
// residual.3.gamma, conv2 → residual.6, conv_shortcut → shortcut.
std::string residual_leaf(const std::string& leaf) {
  static const std::vector<std::pair<std::string, std::string>> renames = {
      {"norm1.", "residual.0."}, {"conv1.", "residual.2."}, {"norm2.", "residual.3."},
      {"conv2.", "residual.6."}, {"conv_shortcut.", "shortcut."}};
  for (const auto& [from, to] : renames) {
    if (leaf.rfind(from, 0) == 0) return to + leaf.substr(from.size());
  }
  return leaf;
}

}  // namespace

std::string canonical_vae_key(const std::string& name, int64_t num_res_blocks) {
  static const std::map<std::string, std::string> whole = {
      {"quant_conv.weight", "conv1.weight"}, {"quant_conv.bias", "conv1.bias"},
      {"post_quant_conv.weight", "conv2.weight"}, {"post_quant_conv.bias", "conv2.bias"}};
  if (auto it = whole.find(name); it != whole.end()) return it->second;
  static const std::regex coder(R"((encoder|decoder)\.(.+))");
  std::smatch m;
  if (!std::regex_match(name, m, coder)) return name;
  const std::string side = m[1], rest = m[2];
  static const std::regex down(R"(down_blocks\.(\d+)\.(.+))");
  static const std::regex up_res(R"(up_blocks\.(\d+)\.resnets\.(\d+)\.(.+))");
  static const std::regex up_sample(R"(up_blocks\.(\d+)\.upsamplers\.0\.(.+))");
  static const std::regex mid_res(R"(mid_block\.resnets\.(\d+)\.(.+))");
  static const std::regex mid_attn(R"(mid_block\.attentions\.0\.(.+))");
  static const std::regex io_layer(R"((conv_in|norm_out|conv_out)\.(.+))");
  const int64_t per_level = num_res_blocks + 2;  // decoder: num_res_blocks + 1 residual blocks, one upsample
  std::smatch p;
  if (std::regex_match(rest, p, down)) {
    return fmt::format("{}.downsamples.{}.{}", side, p[1].str(), residual_leaf(p[2]));
  }
  if (std::regex_match(rest, p, up_res)) {
    return fmt::format("{}.upsamples.{}.{}", side, std::stoll(p[1]) * per_level + std::stoll(p[2]), residual_leaf(p[3]));
  }
  if (std::regex_match(rest, p, up_sample)) {
    return fmt::format("{}.upsamples.{}.{}", side, std::stoll(p[1]) * per_level + num_res_blocks + 1, p[2].str());
  }
  if (std::regex_match(rest, p, mid_res)) {
    return fmt::format("{}.middle.{}.{}", side, p[1] == "0" ? 0 : 2, residual_leaf(p[2]));
  }
  if (std::regex_match(rest, p, mid_attn)) return fmt::format("{}.middle.1.{}", side, p[1].str());
  if (std::regex_match(rest, p, io_layer)) {
    const std::string layer = p[1] == "conv_in" ? "conv1" : p[1] == "norm_out" ? "head.0" : "head.2";
    return fmt::format("{}.{}.{}", side, layer, p[2].str());
  }
  return name;
}

}  // namespace osp::io
