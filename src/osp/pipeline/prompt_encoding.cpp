#include "osp/pipeline/prompt_encoding.h"

#include <algorithm>
#include <memory>

#include "osp/core/log.h"
#include "osp/core/timer.h"
#include "osp/models/t5/config.h"
#include "osp/models/t5/embedding_cache.h"
#include "osp/models/t5/loader.h"
#include "osp/models/t5/text_encoding.h"
#include "osp/models/t5/tokenizer.h"

namespace osp::pipeline {

int64_t text_encoder_text_len(const ModelBundle& bundle) {
  const auto paths = t5::resolve_t5_paths(bundle.text_encoder.path, bundle.text_encoder.config);
  return t5::read_t5_config(paths).text_len;
}

std::map<std::string, at::Tensor> encode_prompts(const ModelBundle& bundle, const std::vector<std::string>& texts,
                                                 const PromptEncodingOptions& options) {
  std::vector<std::string> distinct;
  for (const std::string& text : texts) {
    if (std::find(distinct.begin(), distinct.end(), text) == distinct.end()) distinct.push_back(text);
  }
  const t5::Tokenizer tokenizer(bundle.tokenizer.path, text_encoder_text_len(bundle));
  const t5::TokenBatch tokens = tokenizer.encode(distinct);
  std::unique_ptr<t5::EmbeddingCache> cache;
  if (options.cache_dir) {
    cache = std::make_unique<t5::EmbeddingCache>(*options.cache_dir, t5::encoder_file_identity(bundle.text_encoder.path),
                                                 options.precision);
  }
  std::unique_ptr<t5::T5Encoder> encoder;  // loaded on the first cache miss, freed on return
  const auto provide = [&]() -> const t5::T5Encoder& {
    if (!encoder) {
      StageTimer timer("load text encoder");
      encoder = t5::load_t5_encoder(bundle.text_encoder.path, bundle.text_encoder.config, options.precision,
                                    options.device, options.stream_layers);
      timer.done();
    }
    return *encoder;
  };
  const at::Tensor context = t5::encode_tokens(provide, tokens, cache.get());
  std::map<std::string, at::Tensor> by_text;
  for (size_t i = 0; i < distinct.size(); ++i) by_text[distinct[i]] = context.narrow(0, static_cast<int64_t>(i), 1).clone();
  log::debug("encoded {} distinct text(s)", distinct.size());
  return by_text;
}

}  // namespace osp::pipeline
