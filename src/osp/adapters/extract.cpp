#include "osp/adapters/extract.h"

#include <ATen/ATen.h>

#include <cmath>

#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/io/key_names.h"
#include "osp/io/lora_keys.h"
#include "osp/io/tensor_source.h"

namespace osp::adapters {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A checkpoint's tensors by canonical name.
struct Checkpoint {
  std::unique_ptr<io::TensorSource> source;
  std::map<std::string, std::string> canonical_to_source;
};

Checkpoint open_checkpoint(const std::string& path) {
  Checkpoint c;
  c.source = io::open_tensor_source(path);
  c.canonical_to_source = io::map_dit_keys(c.source->names()).canonical_to_source;
  return c;
}

at::Tensor load(const Checkpoint& c, const std::string& canonical) {
  return c.source->load(c.canonical_to_source.at(canonical), at::kDouble);
}

io::LoraModule& module_for(std::map<std::string, io::LoraModule>& modules, const std::string& module,
                           const std::string& key) {
  io::LoraModule& m = modules[module];
  m.module = module;
  if (m.source_key.empty()) m.source_key = key;
  return m;
}

}  // namespace

std::pair<at::Tensor, at::Tensor> low_rank_factors(const at::Tensor& difference, int64_t rank) {
  const at::Tensor d = difference.to(at::kDouble);
  const int64_t r = std::min({rank, d.size(0), d.size(1)});
  const auto [u, s, vh] = at::linalg_svd(d, /*full_matrices=*/false);
  const at::Tensor up = u.narrow(1, 0, r) * s.narrow(0, 0, r).unsqueeze(0);  // U_r·S_r [out, r]
  const at::Tensor down = vh.narrow(0, 0, r);                                // V_rᵀ [r, in]
  return {down.to(at::kFloat).contiguous(), up.to(at::kFloat).contiguous()};
}

ExtractResult extract_lora(const std::string& base_path, const std::string& tuned_path, int64_t rank) {
  if (rank < 1) fail_about("--rank", "must be at least 1, got {}", rank);
  const Checkpoint base = open_checkpoint(base_path), tuned = open_checkpoint(tuned_path);
  for (const auto& [name, source] : base.canonical_to_source) {
    if (!tuned.canonical_to_source.count(name)) fail_about(tuned_path, "has no tensor {} (the base has)", name);
    if (base.source->meta(source).shape != tuned.source->meta(tuned.canonical_to_source.at(name)).shape) {
      fail_about(tuned_path, "tensor {} has another shape than in the base: not a fine-tune of it", name);
    }
  }
  ExtractResult result;
  std::map<std::string, io::LoraModule> modules;
  double residual_sq = 0, total_sq = 0;
  for (const auto& [name, source] : base.canonical_to_source) {
    const at::Tensor difference = load(tuned, name) - load(base, name);
    if (!difference.ne(0).any().item<bool>()) continue;
    const std::string module = name.substr(0, name.rfind('.'));
    if (!io::is_wan_linear(module)) {
      result.not_expressible.push_back(name);  // norms, modulation, the patch embedding
    } else if (ends_with(name, ".weight") && difference.dim() == 2) {
      auto [down, up] = low_rank_factors(difference, rank);
      const double error_sq = (difference - at::mm(up.to(at::kDouble), down.to(at::kDouble))).pow(2).sum().item<double>();
      const double norm_sq = difference.pow(2).sum().item<double>();
      residual_sq += error_sq;
      total_sq += norm_sq;
      io::LoraModule& m = module_for(modules, module, name);
      m.alpha = static_cast<double>(down.size(0));  // scale alpha / r = 1
      m.down = down;
      m.up = up;
      result.modules.push_back({module, down.size(0), std::sqrt(error_sq / norm_sq)});
    } else if (ends_with(name, ".bias") && difference.dim() == 1) {
      module_for(modules, module, name).diff_b = difference.to(at::kFloat).contiguous();
    } else {
      result.not_expressible.push_back(name);
    }
  }
  // A bias delta needs its module to exist in the file even when the weight did not change.
  for (auto& [name, m] : modules) result.file.modules.push_back(std::move(m));
  result.file.path = tuned_path;
  result.file.format = "peft";
  result.file.adapter_config = {{"peft_type", "LORA"}, {"r", rank}, {"lora_alpha", rank}, {"bias", "none"}};
  result.relative_error = total_sq > 0 ? std::sqrt(residual_sq / total_sq) : 0.0;
  if (!result.not_expressible.empty()) {
    log::warn("lora extract: {} differing tensor(s) cannot be carried by an adapter (e.g. {})",
              result.not_expressible.size(), result.not_expressible.front());
  }
  return result;
}

}  // namespace osp::adapters
