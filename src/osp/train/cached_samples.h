#pragma once
// Reading cached samples (data_cache.h) for training: the latents and context of a cached manifest
// entry, with each shard opened once (memory-mapped) and kept open.
#include <ATen/ATen.h>

#include <map>
#include <memory>
#include <string>

#include "osp/io/tensor_source.h"
#include "osp/train/manifest.h"

namespace osp::train {

struct CachedSample {
  at::Tensor latents;  // float32 [z, T', h, w]
  at::Tensor context;  // float32 [n, d_model]
};

class CachedSampleReader {
 public:
  // osp::Error naming the file and tensor when it is missing or not float32 of the right rank.
  CachedSample load(const ManifestEntry& entry);

 private:
  const io::TensorSource& source(const std::string& path);
  std::map<std::string, std::unique_ptr<io::TensorSource>> open_;
};

// The empty caption's context [n, d_model] of a cache folder (null_context.safetensors).
at::Tensor load_null_context(const std::string& cache_dir);

}  // namespace osp::train
