#pragma once
// Files that appear whole or not at all: written to `<path>.tmp.<pid>`, fsynced, renamed into
// place, and the directory entry synced (the convention of every output the engine writes).
// LibTorch-free.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace osp::io {

// The temporary name a file is written under before its rename: "<path>.tmp.<pid>".
std::string temporary_path(const std::string& path);

// Fsyncs the directory holding `path`, so that a rename into it survives a crash. Best effort.
void sync_parent_directory(const std::string& path);

// A file written sequentially under its temporary name and renamed into place by commit(); the
// destructor removes the temporary file unless commit() succeeded. I/O failures throw osp::Error
// naming the file.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, size_t size);
  uint64_t written() const { return written_; }  // bytes so far: the offset of the next write
  // Fsyncs, closes, renames into place and syncs the directory.
  void commit();
  const std::string& path() const { return path_; }

 private:
  std::string path_, tmp_path_;
  int fd_ = -1;
  uint64_t written_ = 0;
  bool committed_ = false;
};

// Writes `bytes` to `path` atomically. Throws osp::Error naming the file on any I/O failure (the
// temporary file is removed then).
void write_file_atomically(const std::string& path, std::string_view bytes);

}  // namespace osp::io
