#pragma once
// A scratch directory per test (under the system temp directory, named after the test), removed
// afterwards.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace osp::test {

class ScratchDir {
 public:
  // Inside a test: named after it. Outside one (a suite's set-up): after the prefix and the PID.
  explicit ScratchDir(const std::string& prefix = "osp") {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            (info ? fmt::format("{}_{}_{}_{}", prefix, info->test_suite_name(), info->name(), ::getpid())
                  : fmt::format("{}_suite_{}", prefix, ::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace osp::test
