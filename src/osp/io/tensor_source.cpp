// open_tensor_source: which reader a path needs (file extension, or what a directory holds).
#include "osp/io/tensor_source.h"

#include <algorithm>
#include <filesystem>

#include "osp/core/error.h"
#include "osp/io/pth_file.h"
#include "osp/io/safetensors_file.h"
#include "osp/io/sharded_safetensors.h"
#include "osp/io/tensor_copy.h"

namespace osp::io {
namespace {

namespace fs = std::filesystem;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_torch_zip_name(const std::string& name) {
  return ends_with(name, ".pth") || ends_with(name, ".pt") || ends_with(name, ".bin") || ends_with(name, ".ckpt");
}

// Files in `dir` whose names satisfy `match`, sorted for a deterministic choice.
template <typename Match>
std::vector<std::string> files_in(const fs::path& dir, Match match) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && match(entry.path().filename().string())) out.push_back(entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// At most one candidate of a kind is unambiguous; more must be named explicitly.
std::string single(const std::vector<std::string>& files, const fs::path& dir, const char* kind) {
  if (files.size() > 1) {
    fail_about(dir.string(), "holds {} {} files ({}, …); pass one of them", files.size(), kind, files[0]);
  }
  return files.empty() ? std::string() : files[0];
}

// Index first (a sharded set), then one safetensors file, then model.pt, then one torch zip.
std::string weights_in_directory(const fs::path& dir) {
  const auto index = single(files_in(dir, [](const std::string& n) { return ends_with(n, ".safetensors.index.json"); }), dir,
                            "safetensors index");
  if (!index.empty()) return index;
  const auto single_file = single(files_in(dir, [](const std::string& n) { return ends_with(n, ".safetensors"); }), dir,
                                  "safetensors");
  if (!single_file.empty()) return single_file;
  if (fs::is_regular_file(dir / "model.pt")) return (dir / "model.pt").string();
  const auto torch_file = single(files_in(dir, is_torch_zip_name), dir, "torch");
  if (!torch_file.empty()) return torch_file;
  fail_about(dir.string(), "directory holds no weights (*.safetensors.index.json, *.safetensors, model.pt, *.pth)");
}

}  // namespace

int64_t TensorMeta::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::unique_ptr<TensorSource> open_tensor_source(const std::string& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) fail_about(path, "no such file or directory");
  if (fs::is_directory(status)) return open_tensor_source(weights_in_directory(path));
  const std::string name = fs::path(path).filename().string();
  if (ends_with(name, ".safetensors.index.json")) return std::make_unique<ShardedSafetensors>(path);
  if (ends_with(name, ".safetensors")) return std::make_unique<SafetensorsFile>(path);
  if (is_torch_zip_name(name)) return std::make_unique<PthFile>(path);
  fail_about(path, "unknown weights format (expected .safetensors, .safetensors.index.json, .pth, .pt, .bin or .ckpt)");
}

void TensorSource::will_need(const std::string&) const {}

at::Tensor TensorSource::load_rows(const std::string& name, const std::vector<int64_t>& rows,
                                  std::optional<c10::ScalarType> dtype) const {
  check_rows(meta(name).shape, rows, name);
  return load(name, dtype).index_select(0, at::tensor(rows, at::kLong));
}

}  // namespace osp::io
