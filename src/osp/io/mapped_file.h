#pragma once
// A read-only memory map of a whole file. Checkpoints are mapped rather than read so that loading
// touches each byte once; pages of a tensor are released after it has been copied out (release),
// which keeps the resident set near one tensor even for files larger than memory. A tensor whose
// bytes are copied unchanged is read with pread instead (read): one copy from the page cache, no
// page faults on the map, and the kernel's sequential readahead (docs/memory.md "Block streaming").
#include <cstdint>
#include <string>

namespace osp::io {

class MappedFile {
 public:
  // Throws osp::Error naming `path` when it cannot be opened or mapped.
  explicit MappedFile(std::string path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Drops this process's pages of [offset, offset + length): the map is private and read-only, so
  // the pages are simply re-read from the file if touched again. Rounded out to whole pages.
  void release(uint64_t offset, uint64_t length) const;

  // Asks the kernel to read [offset, offset + length) into the page cache in the background.
  void will_need(uint64_t offset, uint64_t length) const;

  // Copies [offset, offset + length) into `out` with pread; osp::Error naming the file on a read
  // error or when the range passes the end (a file truncated since it was opened).
  void read(uint64_t offset, uint64_t length, void* out) const;

 private:
  std::string path_;
  int fd_ = -1;  // kept open for read
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace osp::io
