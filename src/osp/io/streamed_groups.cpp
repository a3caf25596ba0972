#include "osp/io/streamed_groups.h"

#include <sys/stat.h>

#include <set>

#include "osp/core/error.h"

namespace osp::io {

FileStamps::FileStamps(const TensorSource& source) {
  std::set<std::string> files;
  for (const std::string& name : source.names()) files.insert(source.meta(name).file);
  for (const std::string& file : files) files_.push_back(stamp_of(file));
}

FileStamps::Stamp FileStamps::stamp_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {path, -1, -1};
  return {path, static_cast<int64_t>(st.st_size),
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

void FileStamps::check() const {
  for (const Stamp& f : files_) {
    const Stamp now = stamp_of(f.path);
    if (now.size != f.size || now.mtime_ns != f.mtime_ns) {
      fail_about(f.path,
                 "the checkpoint changed on disk while it was being streamed (size {} → {}, modification time "
                 "changed: {}); load the model again",
                 f.size, now.size, now.mtime_ns != f.mtime_ns ? "yes" : "no");
    }
  }
}

}  // namespace osp::io
