#pragma once
// Video files the tests need that the writer refuses to make.
#include <fstream>
#include <stdexcept>
#include <string>

namespace osp::test {

// A GIF with a screen descriptor and the trailer but no image: a zero-length video.
inline void write_frameless_gif(const std::string& path) {
  const unsigned char bytes[] = {'G', 'I', 'F', '8', '9', 'a', 16, 0, 16, 0, 0, 0, 0, 0x3B};
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes), sizeof(bytes));
  if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace osp::test
