#pragma once
// The checkpoint fixtures written by tests/fixtures/make_fixtures.py (Debian's python3-torch).
// ctest runs the script once as the `make_fixtures` setup test; when osp_tests runs on its own,
// fixture_dir() runs it on first use if the stamp it writes last is missing.
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace osp::test {

inline std::string fixture_dir() {
  static const std::string dir = [] {
    const std::string d = OSP_FIXTURE_DIR;
    if (!std::filesystem::exists(d + "/stamp")) {
      const std::string command = std::string(OSP_FIXTURE_PYTHON) + " " + OSP_FIXTURE_SCRIPT + " " + d;
      if (std::system(command.c_str()) != 0) throw std::runtime_error("fixture script failed: " + command);
    }
    return d;
  }();
  return dir;
}

inline std::string fixture(const std::string& relative) { return fixture_dir() + "/" + relative; }

}  // namespace osp::test
