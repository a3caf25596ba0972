#include "osp/shapes/tokenizer.h"

#include <filesystem>

#include "osp/core/error.h"
#include "osp/models/t5/spm_library.h"
#include "osp/shapes/dataset.h"

namespace osp::shapes {

void train_caption_tokenizer(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail_about(dir, "cannot create the tokenizer folder: {}", ec.message());
  const std::string corpus = (fs::path(dir) / "corpus.txt").string();
  write_caption_corpus(corpus);
  // hard_vocab_limit=false: the vocabulary is the grammar's words plus the three special pieces.
  t5::train_sentencepiece("--input=" + corpus + " --model_prefix=" + (fs::path(dir) / "spiece").string() +
                          " --vocab_size=40 --hard_vocab_limit=false --model_type=word --character_coverage=1.0"
                          " --pad_id=0 --eos_id=1 --unk_id=2 --bos_id=-1 --minloglevel=2");
}

}  // namespace osp::shapes
