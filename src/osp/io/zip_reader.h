#pragma once
// A zip archive reader for torch.save files (LibTorch-free): torch writes stored (uncompressed)
// entries, switching to ZIP64 records above 4 GiB; deflated entries are read too, for archives
// that were re-packed by other tools. The archive bytes are untrusted: every offset and length in
// the central directory and local headers is checked against the buffer before use.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace osp::io {

struct ZipEntry {
  std::string name;
  uint16_t method = 0;             // 0 stored, 8 deflate
  uint64_t data_offset = 0;        // offset of the (compressed) data in the archive
  uint64_t compressed_size = 0;
  uint64_t size = 0;               // uncompressed size
  uint32_t crc32 = 0;
  bool stored() const { return method == 0; }
};

class ZipReader {
 public:
  // Parses the central directory of the archive in `data` (which must outlive the reader).
  // `file` names the archive in errors. Throws osp::Error on anything malformed.
  ZipReader(const uint8_t* data, size_t size, std::string file);

  const std::vector<ZipEntry>& entries() const { return entries_; }
  // nullptr when absent.
  const ZipEntry* find(std::string_view name) const;
  // The bytes of a stored entry, in place. Throws for compressed entries.
  std::string_view stored_bytes(const ZipEntry& entry) const;
  // The uncompressed bytes of any entry (a copy; deflate is inflated and its CRC checked).
  std::string read(const ZipEntry& entry) const;
  const std::string& file() const { return file_; }

 private:
  const uint8_t* data_;
  size_t size_;
  std::string file_;
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace osp::io
