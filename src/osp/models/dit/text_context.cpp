#include "osp/models/dit/text_context.h"

namespace osp::dit {

TextContext::TextContext(at::Tensor context, bool reuse) : context_(std::move(context)), reuse_(reuse) {}

const at::Tensor& TextContext::embedded(const std::function<at::Tensor()>& compute) {
  if (!embedded_ || !reuse_) embedded_ = compute();
  return *embedded_;
}

const CrossKV& TextContext::block_kv(size_t block, const std::function<CrossKV()>& compute) {
  if (kv_.size() <= block) kv_.resize(block + 1);
  std::optional<CrossKV>& entry = kv_[block];
  if (entry && reuse_) {
    ++kv_reused_;
    return *entry;
  }
  entry = compute();
  ++kv_computed_;
  return *entry;
}

}  // namespace osp::dit
