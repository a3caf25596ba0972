// Zip central-directory reader (LibTorch-free; sanitizer tests and fuzzers build it alone).
// Record layouts follow PKWARE APPNOTE.TXT §4.3 (end of central directory, ZIP64 locator and
// record, central directory headers, local headers, the ZIP64 extra field 0x0001).
#include "osp/io/zip_reader.h"

#include <zlib.h>

#include <limits>

#include "osp/core/error.h"
#include "osp/io/byte_reader.h"

namespace osp::io {
namespace {

constexpr uint32_t kEocdSignature = 0x06054b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr uint32_t kZip64EocdSignature = 0x06064b50;
constexpr uint32_t kCentralSignature = 0x02014b50;
constexpr uint32_t kLocalSignature = 0x04034b50;
constexpr size_t kEocdSize = 22;
constexpr size_t kZip64LocatorSize = 20;
constexpr size_t kCentralHeaderSize = 46;
constexpr size_t kLocalHeaderSize = 30;
constexpr size_t kMaxCommentSize = 0xffff;
constexpr uint16_t kFlagEncrypted = 0x0001;
constexpr uint16_t kFlagStrongEncryption = 0x0040;
// Deflate cannot expand data by more than ~1032:1; a larger claimed size is a lie (or a bomb).
constexpr uint64_t kMaxDeflateRatio = 1032;

// Where the central directory lies, from the (ZIP64) end-of-central-directory record.
struct Directory {
  uint64_t offset = 0;
  uint64_t size = 0;
  uint64_t entries = 0;
  uint64_t end = 0;  // first byte after the directory that belongs to the end records
};

// The end record sits at the very end, followed only by its comment, whose length must reach the
// end of the file exactly; scanning backwards finds it even when the comment contains a signature.
size_t find_eocd(const uint8_t* data, size_t size, const std::string& file) {
  if (size < kEocdSize) fail_about(file, "not a zip archive ({} bytes is too short; truncated?)", size);
  const size_t lowest = size - kEocdSize > kMaxCommentSize ? size - kEocdSize - kMaxCommentSize : 0;
  bool saw_signature = false;
  for (size_t pos = size - kEocdSize + 1; pos-- > lowest;) {
    if (load_le<uint32_t>(data + pos) != kEocdSignature) continue;
    saw_signature = true;
    if (load_le<uint16_t>(data + pos + 20) == size - pos - kEocdSize) return pos;
  }
  if (saw_signature) fail_about(file, "zip comment length does not match the end of the file (truncated?)");
  fail_about(file, "not a zip archive (no end-of-central-directory record; truncated?)");
}

Directory read_zip64_directory(const uint8_t* data, size_t size, size_t locator, const std::string& file) {
  ByteReader reader(data, size, file);
  reader.seek(locator + 4, "ZIP64 locator");
  if (reader.u32("ZIP64 locator disk") != 0) fail_about(file, "multi-disk zip archives are not supported");
  const uint64_t record = reader.u64("ZIP64 end record offset");
  if (record > locator || locator - record < 56) fail_about(file, "ZIP64 end record offset {} is out of range", record);
  reader.seek(record, "ZIP64 end record");
  if (reader.u32("ZIP64 end record signature") != kZip64EocdSignature) fail_about(file, "bad ZIP64 end record signature");
  reader.take(8 + 2 + 2, "ZIP64 end record");  // record size, versions
  if (reader.u32("disk") != 0 || reader.u32("directory disk") != 0) fail_about(file, "multi-disk zip archives are not supported");
  reader.u64("entries on disk");
  Directory dir;
  dir.entries = reader.u64("entry count");
  dir.size = reader.u64("central directory size");
  dir.offset = reader.u64("central directory offset");
  dir.end = record;
  return dir;
}

Directory read_directory_location(const uint8_t* data, size_t size, const std::string& file) {
  const size_t eocd = find_eocd(data, size, file);
  if (eocd >= kZip64LocatorSize && load_le<uint32_t>(data + eocd - kZip64LocatorSize) == kZip64LocatorSignature) {
    return read_zip64_directory(data, size, eocd - kZip64LocatorSize, file);
  }
  ByteReader reader(data, size, file);
  reader.seek(eocd + 4, "end record");
  if (reader.u16("disk") != 0 || reader.u16("directory disk") != 0) fail_about(file, "multi-disk zip archives are not supported");
  reader.u16("entries on disk");
  Directory dir;
  dir.entries = reader.u16("entry count");
  dir.size = reader.u32("central directory size");
  dir.offset = reader.u32("central directory offset");
  dir.end = eocd;
  return dir;
}

// Values saturated at 0xffffffff in the 32-bit fields live in the ZIP64 extra field, in this order.
struct Zip64Fields {
  uint64_t* size;
  uint64_t* compressed_size;
  uint64_t* local_offset;
};

void apply_zip64_extra(std::string_view extra, Zip64Fields fields, const std::string& subject) {
  ByteReader reader(reinterpret_cast<const uint8_t*>(extra.data()), extra.size(), subject);
  while (reader.remaining() >= 4) {
    const uint16_t id = reader.u16("extra field id");
    const uint16_t length = reader.u16("extra field length");
    const uint8_t* body = reader.take(length, "extra field");
    if (id != 0x0001) continue;
    ByteReader zip64(body, length, subject);
    for (uint64_t* value : {fields.size, fields.compressed_size, fields.local_offset}) {
      if (*value == 0xffffffff) *value = zip64.u64("ZIP64 extra field");
    }
    return;
  }
}

void check_entry(const ZipEntry& entry, uint16_t flags, const std::string& subject) {
  if (flags & (kFlagEncrypted | kFlagStrongEncryption)) fail_about(subject, "encrypted zip entries are not supported");
  if (entry.method != 0 && entry.method != 8) fail_about(subject, "unsupported compression method {}", entry.method);
  if (entry.stored() && entry.compressed_size != entry.size) {
    fail_about(subject, "stored entry has compressed size {} but size {}", entry.compressed_size, entry.size);
  }
  if (entry.method == 8 && entry.size / kMaxDeflateRatio > entry.compressed_size + 1) {
    fail_about(subject, "deflated entry claims an implausible size {} from {} bytes", entry.size, entry.compressed_size);
  }
}

// The local header repeats the name and may carry a different extra field; the data follows it.
uint64_t locate_data(const uint8_t* data, const Directory& dir, uint64_t local_offset, uint64_t compressed_size,
                     const std::string& subject) {
  if (local_offset > dir.offset || dir.offset - local_offset < kLocalHeaderSize) {
    fail_about(subject, "local header offset {} is outside the archive data", local_offset);
  }
  ByteReader reader(data, dir.offset, subject);  // entries must end before the central directory
  reader.seek(local_offset, "local header");
  if (reader.u32("local header signature") != kLocalSignature) fail_about(subject, "bad local header signature");
  reader.take(22, "local header");
  const uint16_t name_length = reader.u16("local name length");
  const uint16_t extra_length = reader.u16("local extra length");
  reader.take(uint64_t{name_length} + extra_length, "local header name and extra field");
  const uint64_t start = reader.position();
  if (compressed_size > reader.remaining()) {
    fail_about(subject, "data [{}, +{}) overlaps the central directory at {}", start, compressed_size, dir.offset);
  }
  return start;
}

ZipEntry read_central_header(ByteReader& reader, const uint8_t* data, const Directory& dir, const std::string& file) {
  if (reader.u32("central directory signature") != kCentralSignature) {
    fail_about(file, "bad central directory signature at offset {}", reader.position() - 4);
  }
  reader.take(4, "versions");
  const uint16_t flags = reader.u16("flags");
  ZipEntry entry;
  entry.method = reader.u16("method");
  reader.take(4, "time and date");
  entry.crc32 = reader.u32("crc32");
  entry.compressed_size = reader.u32("compressed size");
  entry.size = reader.u32("size");
  const uint16_t name_length = reader.u16("name length");
  const uint16_t extra_length = reader.u16("extra length");
  const uint16_t comment_length = reader.u16("comment length");
  if (reader.u16("start disk") != 0) fail_about(file, "multi-disk zip archives are not supported");
  reader.take(6, "attributes");
  uint64_t local_offset = reader.u32("local header offset");
  entry.name = std::string(reader.string(name_length, "entry name"));
  const std::string subject = fmt::format("{}: zip entry '{}'", file, entry.name);
  apply_zip64_extra(reader.string(extra_length, "extra field"), {&entry.size, &entry.compressed_size, &local_offset}, subject);
  reader.take(comment_length, "entry comment");
  check_entry(entry, flags, subject);
  entry.data_offset = locate_data(data, dir, local_offset, entry.compressed_size, subject);
  return entry;
}

std::string inflate_entry(const uint8_t* compressed, const ZipEntry& entry, const std::string& subject) {
  if (entry.size > std::numeric_limits<uInt>::max() || entry.compressed_size > std::numeric_limits<uInt>::max()) {
    fail_about(subject, "deflated entries above 4 GiB are not supported");
  }
  std::string out(entry.size, '\0');
  z_stream stream{};
  if (inflateInit2(&stream, -MAX_WBITS) != Z_OK) fail_about(subject, "zlib initialisation failed");
  stream.next_in = const_cast<Bytef*>(compressed);
  stream.avail_in = static_cast<uInt>(entry.compressed_size);
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int status = inflate(&stream, Z_FINISH);
  const uint64_t produced = stream.total_out;
  inflateEnd(&stream);
  if (status != Z_STREAM_END || produced != entry.size) {
    fail_about(subject, "corrupt deflate data (zlib status {}, {} of {} bytes)", status, produced, entry.size);
  }
  const uLong crc = crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(out.data()), static_cast<uInt>(out.size()));
  if (crc != entry.crc32) fail_about(subject, "CRC mismatch (corrupt entry)");
  return out;
}

}  // namespace

ZipReader::ZipReader(const uint8_t* data, size_t size, std::string file) : data_(data), size_(size), file_(std::move(file)) {
  const Directory dir = read_directory_location(data_, size_, file_);
  if (dir.offset > dir.end || dir.size > dir.end - dir.offset) {
    fail_about(file_, "central directory [{}, +{}) lies outside the archive", dir.offset, dir.size);
  }
  if (dir.entries > dir.size / kCentralHeaderSize) fail_about(file_, "central directory claims {} entries in {} bytes", dir.entries, dir.size);
  ByteReader reader(data_, static_cast<size_t>(dir.offset + dir.size), file_);
  reader.seek(dir.offset, "central directory");
  entries_.reserve(static_cast<size_t>(dir.entries));
  for (uint64_t i = 0; i < dir.entries; ++i) {
    ZipEntry entry = read_central_header(reader, data_, dir, file_);
    if (!index_.emplace(entry.name, entries_.size()).second) fail_about(file_, "zip entry '{}' appears twice", entry.name);
    entries_.push_back(std::move(entry));
  }
}

const ZipEntry* ZipReader::find(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &entries_[it->second];
}

std::string_view ZipReader::stored_bytes(const ZipEntry& entry) const {
  if (!entry.stored()) fail_about(fmt::format("{}: zip entry '{}'", file_, entry.name), "is compressed, not stored");
  return {reinterpret_cast<const char*>(data_ + entry.data_offset), static_cast<size_t>(entry.size)};
}

std::string ZipReader::read(const ZipEntry& entry) const {
  if (entry.stored()) return std::string(stored_bytes(entry));
  return inflate_entry(data_ + entry.data_offset, entry, fmt::format("{}: zip entry '{}'", file_, entry.name));
}

}  // namespace osp::io
