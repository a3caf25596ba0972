#include "osp/io/content_hash.h"

#include <openssl/evp.h>

#include <fstream>
#include <memory>
#include <set>
#include <vector>

#include "osp/core/error.h"
#include "osp/io/tensor_source.h"

namespace osp::io {
namespace {

using DigestContext = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

void hash_into(EVP_MD_CTX* context, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_about(path, "cannot read the file to hash it");
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    if (in.gcount() > 0) EVP_DigestUpdate(context, buffer.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) fail_about(path, "read error while hashing");
}

std::string hex(const unsigned char* bytes, unsigned size) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < size; ++i) {
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 15];
  }
  return out;
}

}  // namespace

std::string sha256_files(const std::vector<std::string>& paths) {
  DigestContext context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1) fail("sha256: cannot start a digest");
  for (const std::string& path : paths) hash_into(context.get(), path);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned size = 0;
  EVP_DigestFinal_ex(context.get(), digest, &size);
  return hex(digest, size);
}

std::string sha256_file(const std::string& path) { return sha256_files({path}); }

std::string sha256_text(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned size = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr) != 1) fail("sha256: digest failed");
  return hex(digest, size);
}

std::vector<std::string> weight_files(const std::string& path) {
  const auto source = open_tensor_source(path);
  std::vector<std::string> files;
  std::set<std::string> seen;
  for (const std::string& name : source->names()) {
    const std::string& file = source->meta(name).file;
    if (seen.insert(file).second) files.push_back(file);
  }
  if (files.empty()) fail_about(path, "holds no tensors");
  return files;
}

}  // namespace osp::io
