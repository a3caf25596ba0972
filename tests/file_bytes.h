#pragma once
// Whole files as strings, for tests that compare outputs byte for byte or write odd inputs.
#include <fstream>
#include <sstream>
#include <string>

namespace osp::test {

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

}  // namespace osp::test
