#pragma once
// The text stage of the pipeline: every distinct prompt and negative prompt of a run through the
// umT5 encoder once (prompt-embedding cache first), after which the encoder is freed before the
// DiT is loaded (one large component in memory at a time).
#include <ATen/ATen.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "osp/core/precision.h"
#include "osp/pipeline/bundle.h"

namespace osp::pipeline {

struct PromptEncodingOptions {
  Precision precision{PrecisionMode::kBf16};
  c10::Device device = c10::kCPU;
  std::optional<std::string> cache_dir;  // prompt-embedding cache (t5/embedding_cache.h)
  bool stream_layers = false;             // the encoder's layers stream from disk (t5/layer_streamer.h)
};

// text → its context float32 [1, text_len, d_model] on the CPU (rows of padding zero). The encoder
// is loaded only when some text misses the cache, and released before returning.
std::map<std::string, at::Tensor> encode_prompts(const ModelBundle& bundle, const std::vector<std::string>& texts,
                                                 const PromptEncodingOptions& options);

// The text_len of the bundle's text encoder (its config; umT5's 512 when it has none).
int64_t text_encoder_text_len(const ModelBundle& bundle);

}  // namespace osp::pipeline
