#pragma once
// The umT5 tokenizer (docs/text-encoder.md "Tokenizer"): SentencePiece over a tokenizer folder's spiece.model
// (through the bridge of spm_library.h), with the reference's text cleaning, </s> appended,
// truncation and padding to text_len.
#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

#include "spm_bridge/spm_bridge.h"

namespace osp::t5 {

constexpr int32_t kPadId = 0;  // <pad>
constexpr int32_t kEosId = 1;  // </s>

struct TokenBatch {
  at::Tensor ids;   // int64 [B, text_len]: pieces, </s>, then kPadId
  at::Tensor mask;  // int64 [B, text_len]: 1 on pieces and </s>, 0 on padding
  std::vector<std::string> cleaned;  // the cleaned prompts (the embedding-cache keys)
  std::vector<int64_t> lengths;      // real tokens per prompt (pieces kept + </s>)
};

class Tokenizer {
 public:
  // `path`: a folder holding spiece.model (also its tokenizer/ or google/umt5-xxl/ subfolder, as
  // in diffusers and Wan checkpoint directories) or the model file itself. Throws osp::Error when
  // the model is missing or unreadable, or its ids 0 / 1 are not <pad> / </s> (T5 convention).
  explicit Tokenizer(const std::string& path, int64_t text_len = 512);
  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // SentencePiece ids of already-cleaned text (no </s>, no truncation).
  std::vector<int32_t> encode_pieces(const std::string& text) const;

  // Cleans each prompt (text_clean.h), encodes it, keeps at most text_len − 1 pieces (a warning
  // names prompts that were truncated), appends </s> and pads. An empty prompt gives [1, 0, …].
  TokenBatch encode(const std::vector<std::string>& prompts) const;

  int64_t vocab_size() const;
  std::string id_to_piece(int32_t id) const;
  int32_t piece_to_id(const std::string& piece) const;
  const std::string& model_path() const { return model_path_; }
  int64_t text_len() const { return text_len_; }

 private:
  std::string model_path_;
  int64_t text_len_;
  osp_spm_model* model_ = nullptr;
};

// The spiece.model that `path` designates (see Tokenizer); osp::Error naming the places looked at.
std::string find_spiece_model(const std::string& path);

}  // namespace osp::t5
