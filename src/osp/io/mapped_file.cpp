#include "osp/io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "osp/core/error.h"

namespace osp::io {
namespace {

// Closes the descriptor on the error paths out of the constructor; a successful one keeps it.
struct FileDescriptor {
  int fd;
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
  int keep() {
    const int out = fd;
    fd = -1;
    return out;
  }
};

}  // namespace

MappedFile::MappedFile(std::string path) : path_(std::move(path)) {
  FileDescriptor file{::open(path_.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) fail_about(path_, "cannot open ({})", std::strerror(errno));
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) fail_about(path_, "cannot stat ({})", std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail_about(path_, "is not a regular file");
  size_ = static_cast<size_t>(st.st_size);
  if (size_ > 0) {  // mmap refuses empty maps; an empty file has no bytes to read anyway
    void* map = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, file.fd, 0);
    if (map == MAP_FAILED) fail_about(path_, "cannot map {} bytes ({})", size_, std::strerror(errno));
    data_ = static_cast<const uint8_t*>(map);
  }
  // Checkpoints are read front to back: ask for the kernel's larger sequential readahead.
  ::posix_fadvise(file.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  fd_ = file.keep();
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
  if (fd_ >= 0) ::close(fd_);
}

void MappedFile::will_need(uint64_t offset, uint64_t length) const {
  if (offset >= size_ || length == 0) return;
  // Advice only: failure costs speed, not correctness.
  ::posix_fadvise(fd_, static_cast<off_t>(offset), static_cast<off_t>(std::min<uint64_t>(length, size_ - offset)),
                  POSIX_FADV_WILLNEED);
}

void MappedFile::read(uint64_t offset, uint64_t length, void* out) const {
  if (offset > size_ || length > size_ - offset) {
    fail_about(path_, "bytes [{}, {}) lie past the end of the file ({} bytes)", offset, offset + length, size_);
  }
  auto* dst = static_cast<uint8_t*>(out);
  while (length > 0) {
    const ssize_t got = ::pread(fd_, dst, length, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) fail_about(path_, "read error at byte {} ({})", offset, std::strerror(errno));
    if (got == 0) fail_about(path_, "ends at byte {}: the file was truncated after it was opened", offset);
    dst += got;
    offset += static_cast<uint64_t>(got);
    length -= static_cast<uint64_t>(got);
  }
}

void MappedFile::release(uint64_t offset, uint64_t length) const {
  if (!data_ || length == 0 || offset >= size_) return;
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t begin = offset / page * page;
  const uint64_t end = std::min<uint64_t>(size_, offset + length);
  // Advice only: failure costs memory, not correctness.
  ::madvise(const_cast<uint8_t*>(data_) + begin, end - begin, MADV_DONTNEED);
}

}  // namespace osp::io
