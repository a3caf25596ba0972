// core: the precision policy's parsing and the error type's subject formatting.
#include <gtest/gtest.h>

#include "osp/core/error.h"
#include "osp/core/precision.h"

namespace {

TEST(Precision, ParsesNamesAndRejectsOthersNamingTheFlag) {
  EXPECT_EQ(osp::Precision::parse("fp32").compute(), c10::kFloat);
  EXPECT_EQ(osp::Precision::parse("bfloat16").compute(), c10::kBFloat16);
  EXPECT_TRUE(osp::Precision::parse("bf16").reduced());
  EXPECT_EQ(osp::Precision::parse("bf16").name(), "bf16");
  try {
    osp::Precision::parse("fp16", "--precision");
    FAIL() << "fp16 accepted";
  } catch (const osp::Error& e) {
    EXPECT_NE(std::string(e.what()).find("--precision"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("fp16"), std::string::npos) << e.what();
  }
}

TEST(Error, PutsTheSubjectFirst) {
  EXPECT_STREQ(osp::Error("model.pt", "truncated").what(), "model.pt: truncated");
  EXPECT_STREQ(osp::Error("", "plain").what(), "plain");
  EXPECT_THROW(osp::require(false, "value {} out of range", 3), osp::Error);
  EXPECT_NO_THROW(osp::require(true, "never"));
}

}  // namespace
