#pragma once
// From tokens to the context the DiT consumes, with the prompt-embedding cache: what
// `osp text-encode`, the pipeline and the trainer share.
#include <ATen/ATen.h>

#include <functional>
#include <string>
#include <vector>

#include "osp/models/t5/embedding_cache.h"
#include "osp/models/t5/encoder.h"
#include "osp/models/t5/tokenizer.h"

namespace osp::t5 {

// Supplies the encoder on demand, so that it is loaded only when some prompt misses the cache.
using EncoderProvider = std::function<const T5Encoder&()>;

// The context float32 [B, text_len, d_model] of tokenized prompts: real rows from the cache where
// present (keyed by the cleaned text), the encoder for the others (one batch, then stored in the
// cache); rows of padded positions are zero (docs/text-encoder.md "Rows the DiT receives"). `cache` may be null.
at::Tensor encode_tokens(const EncoderProvider& encoder, const TokenBatch& tokens, const EmbeddingCache* cache);

// Prompts of a text file, one per line (a final newline ends the last prompt; "\r\n" accepted; an
// empty line is an empty prompt). osp::Error naming the file when it is unreadable or empty.
std::vector<std::string> read_prompt_file(const std::string& path);

}  // namespace osp::t5
