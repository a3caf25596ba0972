#include "osp/train/cached_samples.h"

#include <filesystem>

#include "osp/core/error.h"
#include "osp/io/input_tensors.h"

namespace osp::train {

const io::TensorSource& CachedSampleReader::source(const std::string& path) {
  auto it = open_.find(path);
  if (it == open_.end()) it = open_.emplace(path, io::open_tensor_source(path)).first;
  return *it->second;
}

CachedSample CachedSampleReader::load(const ManifestEntry& entry) {
  if (!entry.cached()) fail_about(entry.video, "manifest line {} is a video sample, not a cached one", entry.line);
  CachedSample sample;
  sample.latents = io::load_input_tensor(source(entry.latents), entry.latents_tensor, io::DType::kF32, 4);
  sample.context = io::load_input_tensor(source(entry.context), entry.context_tensor, io::DType::kF32, 2);
  return sample;
}

at::Tensor load_null_context(const std::string& cache_dir) {
  const auto source = io::open_tensor_source((std::filesystem::path(cache_dir) / "null_context.safetensors").string());
  return io::load_input_tensor(*source, "context", io::DType::kF32, 2);
}

}  // namespace osp::train
