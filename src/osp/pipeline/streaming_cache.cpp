#include "osp/pipeline/streaming_cache.h"

#include <sys/statvfs.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/core/memory_size.h"
#include "osp/core/progress.h"
#include "osp/core/timer.h"
#include "osp/io/content_hash.h"
#include "osp/io/key_names.h"
#include "osp/io/safetensors_writer.h"
#include "osp/io/tensor_source.h"
#include "osp/io/torch_dtype.h"
#include "osp/models/dit/loader.h"

namespace osp::pipeline {
namespace {

namespace fs = std::filesystem;

// The checkpoint's files (canonical path, size, modification time) and the parameters' dtypes:
// a changed file or another precision makes another key.
std::string cache_identity(const io::TensorSource& source, const dit::WanDiT& model) {
  std::set<std::string> files;
  for (const std::string& name : source.names()) files.insert(source.meta(name).file);
  std::string identity = "osp streaming cache v1;";
  for (const std::string& file : files) {
    const auto mtime = fs::last_write_time(file).time_since_epoch().count();
    identity += fmt::format("{}|{}|{};", fs::canonical(file).string(), fs::file_size(file), mtime);
  }
  for (const auto& item : model.named_parameters()) identity += c10::toString(item.value().scalar_type());
  return identity;
}

// Why streaming from a converted copy beats streaming from the checkpoint, or "" when it does not.
// A copy helps when the blocks' tensors take more room in the file than in memory (float32 weights
// run in bf16: fewer bytes per step), or when they are compressed (a re-zipped torch file: every
// step would inflate every block again). A bf16 checkpoint run in bf16 converts only its few norms
// and modulations, and one run in float32 would read twice the bytes from a copy: both stream from
// the checkpoint.
std::string cache_reason(const io::TensorSource& source, const dit::LoadPlan& plan, const dit::WanDiT& model) {
  int64_t stored = 0, used = 0;
  bool compressed = false;
  for (const auto& item : model.named_parameters()) {
    if (io::block_number(item.key()) < 0) continue;
    const io::TensorMeta& meta = source.meta(plan.mapping.canonical_to_source.at(item.key()));
    stored += meta.numel() * static_cast<int64_t>(io::dtype_size(meta.dtype));
    used += item.value().numel() * static_cast<int64_t>(item.value().element_size());
    compressed = compressed || meta.compressed;
  }
  if (compressed) return "its blocks are compressed";
  if (static_cast<double>(stored) > 1.1 * static_cast<double>(used)) return "its blocks are stored wider than they run";
  return "";
}

int64_t free_bytes(const std::string& directory) {
  struct statvfs st {};
  if (::statvfs(directory.c_str(), &st) != 0) return -1;
  return static_cast<int64_t>(st.f_bavail) * static_cast<int64_t>(st.f_frsize);
}

void write_cache(const std::string& path, const io::TensorSource& source, const dit::LoadPlan& plan,
                 const dit::WanDiT& model, const std::string& identity) {
  const auto params = model.named_parameters();
  std::vector<io::TensorDecl> decls;
  for (const auto& item : params) {
    decls.push_back({item.key(), io::dtype_of(item.value().scalar_type()), item.value().sizes().vec()});
  }
  io::SafetensorsWriter writer(path, decls, {{"source", identity}});
  Progress progress("streaming cache", static_cast<int64_t>(params.size()));
  for (const auto& item : params) {
    writer.append(item.key(), source.load(plan.mapping.canonical_to_source.at(item.key()), item.value().scalar_type()));
    progress.step();
  }
  progress.finish();
  writer.finish();
}

}  // namespace

std::string default_streaming_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    return (fs::path(xdg) / "osp" / "streaming").string();
  }
  const char* home = std::getenv("HOME");
  return (fs::path(home != nullptr ? home : ".") / ".cache" / "osp" / "streaming").string();
}

std::string streaming_source(const std::string& weights, const dit::WanDiT& model, const std::string& directory) {
  if (directory.empty()) return weights;
  const auto source = io::open_tensor_source(weights);
  const dit::LoadPlan plan = dit::plan_weights(model.named_parameters(), *source);
  if (!plan.quantized.empty()) return weights;
  const std::string reason = cache_reason(*source, plan, model);
  if (reason.empty()) return weights;
  const std::string identity = cache_identity(*source, model);
  const std::string path = (fs::path(directory) / (io::sha256_text(identity).substr(0, 32) + ".safetensors")).string();
  if (fs::exists(path)) {
    log::info("streaming cache: {} (converted by an earlier run)", path);
    return path;
  }
  int64_t bytes = 0;
  for (const auto& p : model.parameters()) bytes += p.numel() * static_cast<int64_t>(p.element_size());
  std::error_code ec;
  fs::create_directories(directory, ec);
  const int64_t room = ec ? -1 : free_bytes(directory);
  if (room < bytes + (int64_t{64} << 20)) {
    log::warn("streaming cache: {} needs {} in {} but {} is free; streaming from {} with a conversion at every read",
              weights, format_bytes(bytes), directory, room < 0 ? "nothing" : format_bytes(room), weights);
    return weights;
  }
  StageTimer timer("streaming cache");
  write_cache(path, *source, plan, model, identity);
  log::info("streaming cache: converted {} once into {} ({}; {} on disk, {:.1f} s); later runs read it in place",
            weights, path, reason, format_bytes(bytes), timer.done());
  return path;
}

}  // namespace osp::pipeline
