#include "osp/adapters/merge_checkpoint.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/io/atomic_file.h"
#include "osp/io/convert.h"
#include "osp/models/dit/loader.h"

namespace osp::adapters {
namespace {

namespace fs = std::filesystem;

using DeltasByModule = std::map<std::string, std::vector<const nn::LinearAdapter*>>;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Every entry of every adapter against the planned output tensors (canonical names and shapes).
DeltasByModule check_against_plan(const io::ConvertPlan& plan, const std::vector<LoadedLora>& loras) {
  std::map<std::string, const io::TensorDecl*> decls;
  for (const io::ConvertItem& item : plan.tensors) decls[item.output.name] = &item.output;
  DeltasByModule deltas;
  for (const LoadedLora& l : loras) {
    for (const Adapter::Entry& entry : l.adapter.entries()) {
      const auto weight = decls.find(entry.module + ".weight");
      if (weight == decls.end() || weight->second->shape.size() != 2) {
        fail_about(entry.source_key, "the base {} has no linear weight {}.weight (an adapter for another model?)",
                   plan.source->path(), entry.module);
      }
      const std::vector<int64_t>& shape = weight->second->shape;
      check_entry_fits(entry, shape[0], shape[1], decls.count(entry.module + ".bias") > 0);
      deltas[entry.module].push_back(entry.delta.get());
    }
  }
  return deltas;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// config.json beside `out` (generate --dit finds it there) unless the folder already has one.
std::string copy_config(const std::string& base, const std::string& out) {
  std::string config;
  try {
    config = dit::find_config(base, std::nullopt);
  } catch (const Error&) {
    log::warn("merge-lora: the base has no config.json beside it; pass --dit-config when generating");
    return "";
  }
  const fs::path target = fs::absolute(out).parent_path() / "config.json";
  std::error_code ec;
  if (fs::exists(target, ec)) {
    if (read_text(target.string()) != read_text(config)) {
      log::warn("merge-lora: {} exists and differs from the base's config; it was left as it is", target.string());
    }
    return "";
  }
  io::write_file_atomically(target.string(), read_text(config));
  return target.string();
}

}  // namespace

MergeSummary merge_checkpoint(const std::string& base, const std::vector<LoadedLora>& loras, const std::string& out,
                              const std::function<void(int64_t, int64_t)>& on_tensor) {
  if (!ends_with(out, ".safetensors")) fail_about(out, "merge-lora writes a .safetensors file");
  io::ConvertPlan plan = io::plan_conversion(base, out, "", /*keep_names=*/false);
  const DeltasByModule deltas = check_against_plan(plan, loras);
  plan.metadata["merged_loras"] = describe_loras(loras);
  MergeSummary summary;
  const auto transform = [&](const std::string& name, at::Tensor tensor) {
    const bool weight = ends_with(name, ".weight"), bias = ends_with(name, ".bias");
    if (!weight && !bias) return tensor;
    const auto it = deltas.find(name.substr(0, name.rfind('.')));
    if (it == deltas.end()) return tensor;
    if (weight) {
      ++summary.weights_merged;
      return merged_weight(tensor, it->second);
    }
    at::Tensor merged = merged_bias(tensor, it->second);
    if (!merged.equal(tensor)) ++summary.biases_merged;
    return merged;
  };
  io::run_conversion(plan, [&] {
    ++summary.tensors;
    if (on_tensor) on_tensor(summary.tensors, static_cast<int64_t>(plan.tensors.size()));
  }, transform);
  summary.config_written = copy_config(base, out);
  return summary;
}

}  // namespace osp::adapters
