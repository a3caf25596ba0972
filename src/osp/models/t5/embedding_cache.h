#pragma once
// Prompt-embedding cache on disk: the encoder's real output rows of one cleaned prompt,
// keyed by (encoder file identity, precision, cleaned text). The pipeline encodes each prompt
// string once (the T5 runs for the prompt and the negative prompt, docs/text-encoder.md "Encoder cost") and the trainer
// reuses the embeddings of its captions.
//
// Layout: DIR/<hash of the encoder key>/<hash of the text>.safetensors holding `context` float32
// [n, d_model] (n = real tokens incl. </s>), with the full key in the file's metadata, checked on
// every read so that a hash collision is a miss, never a wrong embedding. Entries are written
// atomically (io/safetensors_writer), so concurrent writers of one entry are harmless.
#include <ATen/ATen.h>

#include <optional>
#include <string>

#include "osp/core/precision.h"

namespace osp::t5 {

class EmbeddingCache {
 public:
  // `encoder_identity`: encoder_file_identity(path) of the encoder (loader.h), plus anything else
  // that changes the numbers (the precision is added here).
  EmbeddingCache(std::string dir, const std::string& encoder_identity, Precision precision);

  // The cached rows of `cleaned_text`, or nullopt. An unreadable or foreign entry is a miss (with a
  // warning), never an error: the cache can always be deleted.
  std::optional<at::Tensor> get(const std::string& cleaned_text) const;

  // Stores rows [n, d_model] (converted to float32) for `cleaned_text`.
  void put(const std::string& cleaned_text, const at::Tensor& rows) const;

  // The file an entry lives in.
  std::string entry_path(const std::string& cleaned_text) const;

 private:
  std::string dir_;
  std::string encoder_key_;
};

// 64-bit FNV-1a of `text` as 16 hex digits: stable across platforms and runs (std::hash is not).
std::string stable_hash(const std::string& text);

}  // namespace osp::t5
