// `osp text-encode` end to end on the tiny umT5 fixtures (tests/fixtures/t5_fixtures.py) with a
// SentencePiece model trained by the test: both checkpoint layouts agree, --in equals the
// tokenizer path, the cache returns the same context, and bad input ends in "error:" and exit 1.
#include <gtest/gtest.h>
#include <unistd.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "../fixtures.h"
#include "run_osp.h"
#include "osp/io/safetensors_writer.h"
#include "osp/io/tensor_source.h"
#include "osp/models/t5/spm_library.h"
#include "osp/models/t5/tokenizer.h"

namespace {

namespace fs = std::filesystem;
using osp::test::fixture;

constexpr int64_t kDModel = 32, kTextLen = 512, kVocab = 64;  // t5_fixtures.py; text_len: umT5 default

using osp::test::run_osp;
using osp::test::RunResult;

class TextEncodeCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    osp::test::fixture_dir();
    dir_ = fs::temp_directory_path() / ("osp_text_cli_" + std::to_string(getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_ / "tokenizer");
    std::ofstream corpus(path("corpus.txt"));
    for (int rep = 0; rep < 20; ++rep) {
      corpus << "a red fox runs through the snow\nthe cat sleeps on a warm sofa\n"
                "waves crash on rocks at sunset\na small boat drifts on the lake\n";
    }
    corpus.close();
    osp::t5::train_sentencepiece("--input=" + path("corpus.txt") + " --model_prefix=" + path("tokenizer/spiece") +
                                 " --vocab_size=50 --hard_vocab_limit=false --model_type=unigram"
                                 " --character_coverage=1.0 --pad_id=0 --eos_id=1 --unk_id=2 --bos_id=-1 --minloglevel=2");
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string tokenizer() const { return " --tokenizer " + path("tokenizer"); }
  static std::string hf() { return " --text-encoder " + fixture("t5/hf"); }
  static std::string wan() {
    return " --text-encoder " + fixture("t5/wan") + " --config " + fixture("t5/t5_config.json");
  }

  // Runs text-encode and returns {context, mask}.
  std::pair<at::Tensor, at::Tensor> encode(const std::string& args, const std::string& level = "warn") {
    const std::string out = path("out_" + std::to_string(counter_++) + ".safetensors");
    last_ = run_osp("text-encode" + args + " --out " + out, level);
    EXPECT_EQ(last_.exit_code, 0) << args << "\n" << last_.output;
    if (last_.exit_code != 0) return {};
    const auto source = osp::io::open_tensor_source(out);
    return {source->load("context"), source->load("mask")};
  }

  void expect_error(const std::string& args, const std::string& needle) {
    osp::test::expect_cli_error("text-encode" + args + " --out " + path("err.safetensors"), needle);
    EXPECT_FALSE(fs::exists(path("err.safetensors")));
  }

  fs::path dir_;
  int counter_ = 0;
  RunResult last_;
};

TEST_F(TextEncodeCliTest, BothLayoutsAndPrecisionsEncodePrompts) {
  const std::string prompts = " --prompt \"a red fox in the snow\" --prompt \"  the cat&amp;the boat  \"";
  const auto [context, mask] = encode(hf() + tokenizer() + prompts);
  ASSERT_TRUE(context.defined());
  EXPECT_EQ(context.sizes(), (at::IntArrayRef{2, kTextLen, kDModel}));
  EXPECT_EQ(context.scalar_type(), at::kFloat);
  EXPECT_EQ(mask.scalar_type(), at::kLong);
  const int64_t n0 = mask[0].sum().item<int64_t>(), n1 = mask[1].sum().item<int64_t>();
  EXPECT_GT(n0, 2);
  EXPECT_GT(n1, 2);
  EXPECT_GT(context[0].slice(0, 0, n0).abs().sum(-1).min().item<float>(), 0.f);  // every real row
  EXPECT_EQ(context[0].slice(0, n0).abs().max().item<float>(), 0.f);  // padded rows zero

  const auto wan_out = encode(wan() + tokenizer() + prompts);
  EXPECT_TRUE(at::equal(wan_out.first, context));
  const auto fp32 = encode(hf() + tokenizer() + prompts + " --precision fp32");
  const double relative = ((fp32.first - context).norm() / fp32.first.norm()).item<double>();
  EXPECT_GT(relative, 0.0);
  EXPECT_LT(relative, 3e-2);
}

TEST_F(TextEncodeCliTest, IdsFileMatchesTheTokenizerPath) {
  const osp::t5::Tokenizer tok(path("tokenizer"), kTextLen);
  const osp::t5::TokenBatch tokens = tok.encode({"waves on the lake", ""});
  osp::io::write_safetensors(path("ids.safetensors"), {{"ids", tokens.ids}, {"mask", tokens.mask}});
  const auto from_ids = encode(hf() + " --in " + path("ids.safetensors"));
  const auto from_text = encode(hf() + tokenizer() + " --prompt \"waves on the lake\" --prompt \"\"");
  ASSERT_TRUE(from_ids.first.defined() && from_text.first.defined());
  EXPECT_TRUE(at::equal(from_ids.first, from_text.first));
  EXPECT_TRUE(at::equal(from_ids.second, from_text.second));
  EXPECT_EQ(from_text.second[1].sum().item<int64_t>(), 1);  // empty prompt: </s> only
}

TEST_F(TextEncodeCliTest, PromptFileLongPromptAndCache) {
  std::string long_prompt;
  for (int i = 0; i < 400; ++i) long_prompt += "red fox ";  // > 511 pieces
  std::ofstream(path("prompts.txt")) << "the cat sleeps\r\n\n" << long_prompt << "\n";
  const std::string args = hf() + tokenizer() + " --prompts " + path("prompts.txt") + " --cache " + path("cache");
  const auto first = encode(args, "info");
  ASSERT_TRUE(first.first.defined());
  EXPECT_NE(last_.output.find("truncated"), std::string::npos) << last_.output;
  EXPECT_NE(last_.output.find("0 of 3 prompt(s) cached"), std::string::npos) << last_.output;
  EXPECT_EQ(first.second[1].sum().item<int64_t>(), 1);    // the empty line
  EXPECT_EQ(first.second[2].sum().item<int64_t>(), 512);  // 511 pieces + </s>
  EXPECT_EQ(first.first.size(0), 3);

  const auto second = encode(args, "info");
  EXPECT_NE(last_.output.find("3 of 3 prompt(s) cached"), std::string::npos) << last_.output;
  EXPECT_EQ(last_.output.find("load T5 encoder"), std::string::npos) << "all cached: the encoder is not loaded";
  EXPECT_TRUE(at::equal(second.first, first.first));
}

TEST_F(TextEncodeCliTest, BadInputsAreClearErrors) {
  fs::create_directories(path("no_model"));
  expect_error(hf() + " --tokenizer " + path("no_model") + " --prompt hi", "spiece.model");
  expect_error(hf() + " --tokenizer " + path("nowhere") + " --prompt hi", "nowhere");

  at::Tensor ids = at::ones({1, 8}, at::kLong);
  ids[0][3] = kVocab;  // one past the last row
  osp::io::write_safetensors(path("oov.safetensors"), {{"ids", ids}, {"mask", at::ones({1, 8}, at::kLong)}});
  expect_error(hf() + " --in " + path("oov.safetensors"), "outside the vocabulary");
  osp::io::write_safetensors(path("float.safetensors"), {{"ids", at::ones({1, 8})}, {"mask", at::ones({1, 8}, at::kLong)}});
  expect_error(hf() + " --in " + path("float.safetensors"), "'ids'");
  osp::io::write_safetensors(path("shape.safetensors"), {{"ids", at::ones({1, 8}, at::kLong)}, {"mask", at::ones({1, 7}, at::kLong)}});
  expect_error(hf() + " --in " + path("shape.safetensors"), "'mask'");

  expect_error(hf() + tokenizer() + " --in " + path("oov.safetensors"), "--in");
  expect_error(hf() + tokenizer(), "--prompt");
  expect_error(hf() + " --prompt hi", "--tokenizer");
  expect_error(hf() + tokenizer() + " --prompt hi --precision fp16", "fp16");
  expect_error(" --text-encoder " + fixture("t5/wan") + tokenizer() + " --prompt hi", "--config");
  expect_error(hf() + tokenizer() + " --prompts " + path("missing.txt"), "missing.txt");
}

// The SentencePiece bridge named by OSP_SPM_BRIDGE is missing, or not a loadable library: both the
// link-namespace load and the RTLD_DEEPBIND fallback fail, and the error names the file.
TEST_F(TextEncodeCliTest, BadSentencePieceBridgeIsAClearError) {
  std::ofstream(path("not_a_library.so")) << "not an ELF file\n";
  setenv("OSP_SPM_BRIDGE", path("not_a_library.so").c_str(), 1);
  expect_error(hf() + tokenizer() + " --prompt hi", "cannot load the SentencePiece bridge");
  setenv("OSP_SPM_BRIDGE", path("no_such_bridge.so").c_str(), 1);
  expect_error(hf() + tokenizer() + " --prompt hi", "no_such_bridge.so");
  unsetenv("OSP_SPM_BRIDGE");
}

}  // namespace
