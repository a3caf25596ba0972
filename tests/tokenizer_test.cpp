// umT5 tokenizer (src/osp/models/t5/tokenizer.h, text_clean.h): a SentencePiece model trained in
// the test with the library's own trainer (through the bridge, spm_library.h), then ids, </s>,
// padding and truncation of docs/text-encoder.md "Tokenizer", and the text cleaning of "Text cleaning".
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "osp/core/error.h"
#include "osp/models/t5/spm_library.h"
#include "osp/models/t5/text_clean.h"
#include "osp/models/t5/tokenizer.h"

namespace {

namespace fs = std::filesystem;
using osp::t5::clean_prompt;
using osp::t5::Tokenizer;

// Trains a tiny unigram model with T5's special ids (pad 0, </s> 1, <unk> 2, no BOS) once per
// test binary. "▁cat" and "▁dog" are user-defined pieces: ids 3 and 4 whatever the training.
class TokenizerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("osp_tokenizer_test_" + std::to_string(getpid())));
    fs::create_directories(*dir_);
    const fs::path corpus = *dir_ / "corpus.txt";
    {
      std::ofstream out(corpus);
      const char* lines[] = {"the cat sat on the mat", "a dog and a cat play in the garden",
                             "the quick brown fox jumps over the lazy dog", "video of a red car on a road",
                             "a woman walks through a forest at dawn", "waves crash on the beach at sunset"};
      for (int rep = 0; rep < 20; ++rep) {
        for (const char* line : lines) out << line << "\n";
      }
    }
    osp::t5::train_sentencepiece("--input=" + corpus.string() + " --model_prefix=" + (*dir_ / "spiece").string() +
                                 " --vocab_size=50 --model_type=unigram --character_coverage=1.0"
                                 " --pad_id=0 --eos_id=1 --unk_id=2 --bos_id=-1 --user_defined_symbols=▁cat,▁dog"
                                 " --minloglevel=2");
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static fs::path* dir_;
};
fs::path* TokenizerTest::dir_ = nullptr;

TEST_F(TokenizerTest, KnownTextsGiveExpectedIdsEosAndPadding) {
  const Tokenizer tokenizer(dir_->string(), 8);  // the folder holding spiece.model
  EXPECT_EQ(tokenizer.vocab_size(), 50);
  EXPECT_EQ(tokenizer.id_to_piece(0), "<pad>");
  EXPECT_EQ(tokenizer.id_to_piece(1), "</s>");
  EXPECT_EQ(tokenizer.id_to_piece(3), "▁cat");
  EXPECT_EQ(tokenizer.piece_to_id("▁dog"), 4);
  EXPECT_EQ(tokenizer.encode_pieces("cat dog cat"), (std::vector<int32_t>{3, 4, 3}));

  // Cleaning first (tab, newline, outer spaces, &nbsp;), then ids + </s> + pad to text_len.
  const auto batch = tokenizer.encode({"  cat\tdog\n", "dog&nbsp;&nbsp;cat", ""});
  ASSERT_EQ(batch.ids.sizes(), (at::IntArrayRef{3, 8}));
  EXPECT_EQ(batch.ids.scalar_type(), at::kLong);
  EXPECT_TRUE(at::equal(batch.ids[0], at::tensor({3, 4, 1, 0, 0, 0, 0, 0}, at::kLong)));
  EXPECT_TRUE(at::equal(batch.mask[0], at::tensor({1, 1, 1, 0, 0, 0, 0, 0}, at::kLong)));
  EXPECT_TRUE(at::equal(batch.ids[1], at::tensor({4, 3, 1, 0, 0, 0, 0, 0}, at::kLong)));
  EXPECT_EQ(batch.cleaned[0], "cat dog");
  EXPECT_EQ(batch.cleaned[1], "dog cat");
  // Empty prompt: </s> only ("Rows the DiT receives").
  EXPECT_TRUE(at::equal(batch.ids[2], at::tensor({1, 0, 0, 0, 0, 0, 0, 0}, at::kLong)));
  EXPECT_TRUE(at::equal(batch.mask[2], at::tensor({1, 0, 0, 0, 0, 0, 0, 0}, at::kLong)));
  EXPECT_EQ(batch.lengths, (std::vector<int64_t>{3, 3, 1}));

  // Ordinary words split into trained pieces that decode back to the text.
  const auto pieces = tokenizer.encode_pieces("the garden");
  std::string text;
  for (int32_t id : pieces) {
    EXPECT_GT(id, 2);
    text += tokenizer.id_to_piece(id);
  }
  EXPECT_EQ(text, "▁the▁garden");
}

TEST_F(TokenizerTest, TruncatesToTextLenMinusOnePlusEos) {
  const Tokenizer tokenizer(dir_->string(), 8);
  const auto batch = tokenizer.encode({"cat dog cat dog cat dog cat dog cat"});  // 9 pieces
  EXPECT_TRUE(at::equal(batch.ids[0], at::tensor({3, 4, 3, 4, 3, 4, 3, 1}, at::kLong)));
  EXPECT_EQ(batch.mask[0].sum().item<int64_t>(), 8);
  // The default text_len of 512: 511 pieces + </s>.
  std::string long_prompt;
  for (int i = 0; i < 600; ++i) long_prompt += "cat ";
  const auto full = Tokenizer(dir_->string()).encode({long_prompt});
  ASSERT_EQ(full.ids.size(1), 512);
  EXPECT_EQ(full.ids[0][510].item<int64_t>(), 3);
  EXPECT_EQ(full.ids[0][511].item<int64_t>(), 1);
  EXPECT_EQ(full.lengths[0], 512);
}

TEST_F(TokenizerTest, FindsTheModelInReleasedLayoutsAndReportsMissingOnes) {
  const fs::path root = *dir_ / "Wan2.1-T2V-1.3B";
  fs::create_directories(root / "google" / "umt5-xxl");
  fs::copy_file(*dir_ / "spiece.model", root / "google" / "umt5-xxl" / "spiece.model",
                fs::copy_options::overwrite_existing);
  EXPECT_EQ(Tokenizer(root.string()).vocab_size(), 50);
  EXPECT_EQ(Tokenizer((*dir_ / "spiece.model").string()).vocab_size(), 50);

  const fs::path empty = *dir_ / "empty";
  fs::create_directories(empty);
  std::ofstream(empty / "tokenizer.json") << "{}";
  try {
    Tokenizer t(empty.string());
    ADD_FAILURE() << "no error";
  } catch (const osp::Error& e) {
    EXPECT_NE(std::string(e.what()).find("no spiece.model"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(empty.string()), std::string::npos) << e.what();
  }
  EXPECT_THROW(Tokenizer((*dir_ / "missing").string()), osp::Error);
  // A file that is no SentencePiece model.
  std::ofstream(empty / "spiece.model") << "not a model";
  EXPECT_THROW(Tokenizer(empty.string()), osp::Error);
}

TEST(SpmBridge, SearchesEnvironmentExecutableAndBuildPaths) {
  const auto candidates = osp::t5::spm_bridge_candidates();
  ASSERT_GE(candidates.size(), 1u);
  EXPECT_NE(candidates.back().find("libosp_spm.so"), std::string::npos);
  EXPECT_NE(osp::t5::spm_library().path.find("libosp_spm"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Text cleaning ("Text cleaning")

TEST(TextClean, WhitespaceRunsBecomeOneSpaceAndEndsAreStripped) {
  EXPECT_EQ(clean_prompt("  a\tb\n\nc  "), "a b c");
  EXPECT_EQ(clean_prompt("a\r\nb\u2028c\u3000d\u00a0e"), "a b c d e");
  EXPECT_EQ(clean_prompt("\t\n "), "");
  EXPECT_EQ(osp::t5::clean_whitespace("x \x0b\x0c\x1c y"), "x y");
}

TEST(TextClean, HtmlEntitiesAreUnescapedLikePython) {
  EXPECT_EQ(clean_prompt("Tom &amp; Jerry"), "Tom & Jerry");
  EXPECT_EQ(clean_prompt("&amp;lt;b&amp;gt;"), "<b>");                  // ftfy + two html.unescape passes
  EXPECT_EQ(clean_prompt("&amp;amp;amp;"), "&");
  EXPECT_EQ(clean_prompt("it&#39;s &#x41;&#66; &#128;"), "it's AB \u20ac");  // &#128; is € (Windows-1252)
  EXPECT_EQ(clean_prompt("&ampx &copy2026 &notin; &notit;"), "&x \u00a92026 \u2209 \u00acit;");
  EXPECT_EQ(clean_prompt("&unknown; & &#; &#xZZ;"), "&unknown; & &#; &#xZZ;");
  EXPECT_EQ(osp::t5::html_unescape("&#0;&#xD800;&#x110000;&#1;"), "\ufffd\ufffd\ufffd");
  EXPECT_EQ(osp::t5::html_unescape("&NotEqualTilde;"), "\u2242\u0338");  // two code points
}

TEST(TextClean, FtfySubsetFixesWidthQuotesLigaturesAndControls) {
  EXPECT_EQ(clean_prompt("\uff21\uff22\uff0c\uff11"), "AB,1");  // full-width
  EXPECT_EQ(clean_prompt("\u201cquoted\u201d \u2018it\u2019s\u2019"), "\"quoted\" 'it's'");
  EXPECT_EQ(clean_prompt("\ufb01ne \ufb02ow"), "fine flow");
  EXPECT_EQ(clean_prompt("a\x1b[31mred\x1b[0m b"), "ared b");
  EXPECT_EQ(clean_prompt("a\x01\x7f" "b\ufeff"), "ab");
  EXPECT_EQ(clean_prompt("\u0093hi\u0094"), "\"hi\"");  // C1 controls read as Windows-1252
  // Malformed UTF-8 becomes U+FFFD instead of failing.
  EXPECT_EQ(clean_prompt("a\xff" "b"), "a\ufffd" "b");
}

}  // namespace
