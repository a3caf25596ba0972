#include "osp/models/t5/tokenizer.h"

#include <filesystem>

#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/models/t5/spm_library.h"
#include "osp/models/t5/text_clean.h"

namespace osp::t5 {
namespace {

namespace fs = std::filesystem;

// Excerpt of a prompt for messages.
std::string excerpt(const std::string& text) { return text.size() <= 60 ? text : text.substr(0, 57) + "..."; }

}  // namespace

std::string find_spiece_model(const std::string& path) {
  const fs::path p(path);
  if (!fs::exists(p)) fail_about(path, "tokenizer: no such file or directory");
  if (fs::is_regular_file(p)) return p.string();
  const fs::path candidates[] = {p / "spiece.model", p / "tokenizer" / "spiece.model",
                                 p / "google" / "umt5-xxl" / "spiece.model"};
  for (const fs::path& candidate : candidates) {
    if (fs::is_regular_file(candidate)) return candidate.string();
  }
  const bool has_json = fs::is_regular_file(p / "tokenizer.json");
  fail_about(path, "tokenizer: no spiece.model here or in tokenizer/ or google/umt5-xxl/{}", 
             has_json ? " (tokenizer.json alone is not supported: the SentencePiece model is needed)" : "");
}

Tokenizer::Tokenizer(const std::string& path, int64_t text_len) : model_path_(find_spiece_model(path)), text_len_(text_len) {
  require(text_len_ >= 1, "tokenizer: text_len must be at least 1, got {}", text_len_);
  char error[1024] = {};
  model_ = spm_library().load(model_path_.c_str(), error, sizeof error);
  if (model_ == nullptr) fail_about(model_path_, "cannot load the SentencePiece model: {}", error);
  if (vocab_size() < 2 || id_to_piece(kPadId) != "<pad>" || id_to_piece(kEosId) != "</s>") {
    const std::string pad = vocab_size() > 0 ? id_to_piece(kPadId) : "", eos = vocab_size() > 1 ? id_to_piece(kEosId) : "";
    spm_library().free(model_);
    fail_about(model_path_, "not a T5 SentencePiece model: id 0 is '{}' and id 1 is '{}' (expected <pad> and </s>)",
               pad, eos);
  }
}

Tokenizer::~Tokenizer() {
  if (model_ != nullptr) spm_library().free(model_);
}

std::vector<int32_t> Tokenizer::encode_pieces(const std::string& text) const {
  std::vector<int32_t> ids(text.size() + 16);
  char error[1024] = {};
  for (;;) {
    const int64_t count = spm_library().encode(model_, text.data(), text.size(), ids.data(), ids.size(), error,
                                               sizeof error);
    if (count < 0) fail_about(model_path_, "SentencePiece could not encode '{}': {}", excerpt(text), error);
    if (static_cast<size_t>(count) <= ids.size()) {
      ids.resize(static_cast<size_t>(count));
      return ids;
    }
    ids.resize(static_cast<size_t>(count));
  }
}

TokenBatch Tokenizer::encode(const std::vector<std::string>& prompts) const {
  const auto batch = static_cast<int64_t>(prompts.size());
  require(batch >= 1, "tokenizer: no prompts to encode");
  TokenBatch out;
  out.ids = at::full({batch, text_len_}, kPadId, at::kLong);
  out.mask = at::zeros({batch, text_len_}, at::kLong);
  auto ids = out.ids.accessor<int64_t, 2>();
  auto mask = out.mask.accessor<int64_t, 2>();
  for (int64_t b = 0; b < batch; ++b) {
    out.cleaned.push_back(clean_prompt(prompts[static_cast<size_t>(b)]));
    const std::vector<int32_t> pieces = encode_pieces(out.cleaned.back());
    // docs/text-encoder.md "Tokenizer": at most text_len − 1 pieces, then </s>.
    const auto kept = std::min<int64_t>(static_cast<int64_t>(pieces.size()), text_len_ - 1);
    if (kept < static_cast<int64_t>(pieces.size())) {
      log::warn("prompt {} ('{}') has {} tokens; truncated to {} (+ </s>)", b, excerpt(out.cleaned.back()),
                pieces.size(), kept);
    }
    for (int64_t i = 0; i < kept; ++i) ids[b][i] = pieces[static_cast<size_t>(i)];
    ids[b][kept] = kEosId;
    for (int64_t i = 0; i <= kept; ++i) mask[b][i] = 1;
    out.lengths.push_back(kept + 1);
  }
  return out;
}

int64_t Tokenizer::vocab_size() const { return spm_library().vocab_size(model_); }

std::string Tokenizer::id_to_piece(int32_t id) const {
  std::string piece(64, '\0');
  int64_t length = spm_library().id_to_piece(model_, id, piece.data(), piece.size());
  if (length < 0) fail_about(model_path_, "token id {} is outside the vocabulary [0, {})", id, vocab_size());
  if (static_cast<size_t>(length) > piece.size()) {
    piece.resize(static_cast<size_t>(length));
    length = spm_library().id_to_piece(model_, id, piece.data(), piece.size());
  }
  piece.resize(static_cast<size_t>(length));
  return piece;
}

int32_t Tokenizer::piece_to_id(const std::string& piece) const { return spm_library().piece_to_id(model_, piece.c_str()); }

}  // namespace osp::t5
