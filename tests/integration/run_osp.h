#pragma once
// Runs the `osp` binary under test and captures its exit code and output (stdout + stderr).
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace osp::test {

struct RunResult {
  int exit_code;
  std::string output;
};

inline RunResult run_osp(const std::string& args) {
  const std::string command = std::string(OSP_BINARY) + " --log-level warn " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string output;
  std::array<char, 4096> buffer{};
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

}  // namespace osp::test
