// Counting an adapter file's contents for `osp info`.
#include "osp/io/lora_summary.h"

#include <algorithm>
#include <array>

namespace osp::io {
namespace {

constexpr std::array<const char*, 5> kKindOrder = {"self_attn", "cross_attn", "ffn", "embeddings", "head"};

int64_t elements(const at::Tensor& t) { return t.defined() ? t.numel() : 0; }

}  // namespace

std::string lora_module_kind(const std::string& module) {
  for (const char* kind : {"self_attn", "cross_attn", "ffn"}) {
    if (module.find(std::string(".") + kind + ".") != std::string::npos) return kind;
  }
  return module.rfind("head.", 0) == 0 ? "head" : "embeddings";
}

LoraSummary summarize_lora(const LoraFile& file) {
  LoraSummary s;
  s.format = file.format;
  std::vector<std::string> kinds;
  for (const LoraModule& m : file.modules) {
    ++s.modules;
    kinds.push_back(lora_module_kind(m.module));
    if (m.down.defined()) {
      ++s.ranks[m.rank()];
      if (m.alpha) ++s.alphas[*m.alpha];
      else ++s.modules_without_alpha;
    }
    s.diffs += m.diff.defined();
    s.bias_diffs += m.diff_b.defined();
    s.parameters += elements(m.down) + elements(m.up) + elements(m.diff) + elements(m.diff_b);
  }
  for (const char* kind : kKindOrder) {
    if (std::find(kinds.begin(), kinds.end(), kind) != kinds.end()) s.kinds.emplace_back(kind);
  }
  return s;
}

}  // namespace osp::io
