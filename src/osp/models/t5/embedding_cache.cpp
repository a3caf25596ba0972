#include "osp/models/t5/embedding_cache.h"

#include <fmt/format.h>

#include <filesystem>

#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/io/safetensors_file.h"
#include "osp/io/safetensors_writer.h"

namespace osp::t5 {
namespace {

namespace fs = std::filesystem;

constexpr const char* kTensor = "context";

}  // namespace

std::string stable_hash(const std::string& text) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return fmt::format("{:016x}", hash);
}

EmbeddingCache::EmbeddingCache(std::string dir, const std::string& encoder_identity, Precision precision)
    : dir_(std::move(dir)), encoder_key_(encoder_identity + "|precision=" + precision.name()) {}

std::string EmbeddingCache::entry_path(const std::string& cleaned_text) const {
  return (fs::path(dir_) / stable_hash(encoder_key_) / (stable_hash(cleaned_text) + ".safetensors")).string();
}

std::optional<at::Tensor> EmbeddingCache::get(const std::string& cleaned_text) const {
  const std::string path = entry_path(cleaned_text);
  if (!fs::is_regular_file(path)) return std::nullopt;
  try {
    const io::SafetensorsFile file(path);
    const auto& meta = file.metadata();
    const auto encoder = meta.find("encoder"), text = meta.find("text");
    if (encoder == meta.end() || text == meta.end() || encoder->second != encoder_key_ ||
        text->second != cleaned_text) {
      return std::nullopt;  // another key with the same hashes
    }
    return file.load(kTensor, at::kFloat);
  } catch (const Error& e) {
    log::warn("embedding cache: ignoring unreadable entry {}: {}", path, e.what());
    return std::nullopt;
  }
}

void EmbeddingCache::put(const std::string& cleaned_text, const at::Tensor& rows) const {
  require(rows.dim() == 2, "embedding cache: expected rows [n, d_model], got {} dimensions", rows.dim());
  const std::string path = entry_path(cleaned_text);
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) fail_about(fs::path(path).parent_path().string(), "cannot create the embedding cache directory: {}", ec.message());
  io::write_safetensors(path, {{kTensor, rows.to(at::kCPU, at::kFloat).contiguous()}},
                        {{"encoder", encoder_key_}, {"text", cleaned_text}});
}

}  // namespace osp::t5
