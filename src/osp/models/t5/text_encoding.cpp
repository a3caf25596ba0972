#include "osp/models/t5/text_encoding.h"

#include <c10/core/InferenceMode.h>

#include <fstream>

#include "osp/core/error.h"
#include "osp/core/log.h"

namespace osp::t5 {

at::Tensor encode_tokens(const EncoderProvider& encoder, const TokenBatch& tokens, const EmbeddingCache* cache) {
  const int64_t batch = tokens.ids.size(0), length = tokens.ids.size(1);
  std::vector<at::Tensor> rows(static_cast<size_t>(batch));  // real rows per prompt
  std::vector<int64_t> misses;
  for (int64_t b = 0; b < batch; ++b) {
    std::optional<at::Tensor> hit;
    if (cache != nullptr) hit = cache->get(tokens.cleaned[static_cast<size_t>(b)]);
    if (hit && hit->size(0) == tokens.lengths[static_cast<size_t>(b)]) rows[static_cast<size_t>(b)] = *hit;
    else misses.push_back(b);
  }
  if (cache != nullptr) log::info("embedding cache: {} of {} prompt(s) cached", batch - static_cast<int64_t>(misses.size()), batch);
  if (!misses.empty()) {
    const at::Tensor index = at::tensor(misses, at::kLong);
    at::Tensor context;
    {
      c10::InferenceMode inference;
      context = encoder().forward(tokens.ids.index_select(0, index), tokens.mask.index_select(0, index)).to(at::kCPU);
    }
    for (size_t m = 0; m < misses.size(); ++m) {
      const auto b = static_cast<size_t>(misses[m]);
      rows[b] = context[static_cast<int64_t>(m)].slice(0, 0, tokens.lengths[b]).clone();
      if (cache != nullptr) cache->put(tokens.cleaned[b], rows[b]);
    }
  }
  at::Tensor out = at::zeros({batch, length, rows[0].size(1)}, at::kFloat);
  for (int64_t b = 0; b < batch; ++b) {
    const at::Tensor& r = rows[static_cast<size_t>(b)];
    out[b].slice(0, 0, r.size(0)).copy_(r);
  }
  return out;
}

std::vector<std::string> read_prompt_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_about(path, "cannot open the prompts file");
  std::vector<std::string> prompts;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    prompts.push_back(line);
  }
  if (prompts.empty()) fail_about(path, "the prompts file holds no prompt (one per line)");
  return prompts;
}

}  // namespace osp::t5
