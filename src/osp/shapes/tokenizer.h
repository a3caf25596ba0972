#pragma once
// The Shapes domain's SentencePiece tokenizer: a word model trained on every caption of the grammar
// (about 25 words), with the T5 conventions <pad> = 0, </s> = 1, <unk> = 2.
#include <string>

namespace osp::shapes {

// Writes DIR/corpus.txt (write_caption_corpus) and trains DIR/spiece.model on it; DIR is created.
// osp::Error with the trainer's message on failure.
void train_caption_tokenizer(const std::string& dir);

}  // namespace osp::shapes
