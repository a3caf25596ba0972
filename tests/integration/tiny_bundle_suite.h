#pragma once
// A CLI test suite sharing one tiny random-weights bundle (`osp init-bundle`): written before the
// suite's first test into a temporary folder named Derived::kBundlePrefix + the PID, removed after
// its last. Derived: class MyCli : public osp::test::TinyBundleSuite<MyCli> { static constexpr
// const char* kBundlePrefix = "osp_my_cli"; … }.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "run_osp.h"

namespace osp::test {

template <typename Derived>
class TinyBundleSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    bundle_ = new std::string(
        (std::filesystem::temp_directory_path() / fmt::format("{}_{}", Derived::kBundlePrefix, ::getpid())).string());
    std::filesystem::remove_all(*bundle_);
    const RunResult r = run_osp("init-bundle --out " + *bundle_);
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*bundle_);
    delete bundle_;
    bundle_ = nullptr;
  }

  static inline std::string* bundle_ = nullptr;
};

}  // namespace osp::test
