#pragma once
// Training a small SentencePiece model with the umT5 special ids (docs/text-encoder.md "Tokenizer"): <pad> = 0,
// </s> = 1, <unk> = 2, no <s>. Used by `osp init-bundle` for its tiny tokenizer. BPE, not umT5's
// unigram: on a corpus of a few hundred template captions the unigram trainer kept fragments
// ("▁mo v ing") where BPE merges whole words.
#include <cstdint>
#include <string>
#include <vector>

namespace osp::t5 {

// Trains on `lines` (one sentence each) with at most `vocab_size` pieces (fewer when the corpus
// has fewer candidates) on one thread, and returns the bytes of the spiece.model file. The
// trainer records its input and output paths in the model (TrainerSpec.input / model_prefix);
// those are removed, so the bytes depend only on the corpus and `vocab_size`: the same corpus
// gives the same file wherever it is trained. Throws osp::Error with the trainer's message.
std::string train_t5_sentencepiece(const std::vector<std::string>& lines, int64_t vocab_size);

// `model` (serialized ModelProto) without TrainerSpec fields 1 (input) and 2 (model_prefix).
// Throws osp::Error when the bytes are not a well-formed protobuf message.
std::string strip_training_paths(const std::string& model);

}  // namespace osp::t5
