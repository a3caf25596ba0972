#pragma once
// Runs the `osp` binary under test and captures its exit code and output (stdout + stderr).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace osp::test {

struct RunResult {
  int exit_code;
  std::string output;
};

inline RunResult run_osp(const std::string& args, const std::string& log_level = "warn") {
  const std::string command = std::string(OSP_BINARY) + " --log-level " + log_level + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string output;
  std::array<char, 4096> buffer{};
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// Bad input on the command line: exit code 1 and "error: …" naming `needle`.
inline RunResult expect_cli_error(const std::string& args, const std::string& needle) {
  RunResult r = run_osp(args);
  EXPECT_EQ(r.exit_code, 1) << args << "\n" << r.output;
  EXPECT_NE(r.output.find("error:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(needle), std::string::npos) << "expected '" << needle << "' in:\n" << r.output;
  return r;
}

}  // namespace osp::test
