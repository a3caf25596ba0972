#include "osp/train/atomic_file.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "osp/core/error.h"

namespace osp::train {

void write_file_atomically(const std::string& path, const std::string& contents) {
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail_about(path, "cannot create the file");
    out << contents;
    if (!out.flush()) {
      std::remove(tmp.c_str());
      fail_about(path, "write error");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    fail_about(path, "cannot rename into place: {}", ec.message());
  }
}

}  // namespace osp::train
