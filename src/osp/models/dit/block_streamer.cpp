#include "osp/models/dit/block_streamer.h"

#include <torch/csrc/autograd/grad_mode.h>

#include "osp/core/error.h"
#include "osp/io/key_names.h"

namespace osp::dit {

BlockStreamer::BlockStreamer(WanDiT& model, std::shared_ptr<const io::TensorSource> source, bool prefetch,
                             std::unique_ptr<DeviceUpload> upload)
    : model_(model), source_(std::move(source)), upload_(upload ? std::move(upload) : make_device_upload(model.device())) {
  const auto params = model_.named_parameters(/*recurse=*/true);
  plan_ = plan_weights(params, *source_);
  blocks_.resize(model_.blocks.size());
  torch::NoGradGuard no_grad;
  for (const auto& item : params) {
    const std::string& name = item.key();
    const std::string& file_name = plan_.mapping.canonical_to_source.at(name);
    const int64_t n = io::block_number(name);
    Entry entry{name, item.value()};
    entry.quantized = plan_.quantized.find(name);
    const io::TensorMeta& meta = source_->meta(file_name);
    entry.bytes = meta.numel() * static_cast<int64_t>(io::dtype_size(meta.dtype));
    if (entry.quantized) {
      entry.linear = &linear_with_weight(model_, name, *source_);
      const io::TensorMeta& scale = source_->meta(entry.quantized->scale_name);
      entry.bytes += scale.numel() * static_cast<int64_t>(io::dtype_size(scale.dtype));
    }
    if (n < 0) {  // resident: loaded now, as load_weights does
      if (entry.linear) {
        entry.linear->set_quantized(quant::load_quantized_weight(*source_, *entry.quantized));
      } else {
        entry.param.copy_(source_->load(file_name, entry.param.scalar_type()));
      }
      ++plan_.report.loaded;
      continue;
    }
    entry.param.set_();  // streamed: no storage until the block runs
    blocks_.at(static_cast<size_t>(n)).push_back(std::move(entry));
  }
  groups_ = std::make_unique<io::StreamedGroups<Staged>>(*source_, static_cast<int64_t>(blocks_.size()), prefetch,
                                                          [this](int64_t n) { return read_block(n); });
  model_.set_block_residency(this);
}

BlockStreamer::~BlockStreamer() { model_.set_block_residency(nullptr); }

int64_t BlockStreamer::block_bytes(int64_t n) const {
  int64_t bytes = 0;
  for (const Entry& e : blocks_.at(static_cast<size_t>(n))) bytes += e.bytes;
  return bytes;
}

int64_t BlockStreamer::largest_block_bytes() const {
  int64_t largest = 0;
  for (size_t n = 0; n < blocks_.size(); ++n) largest = std::max(largest, block_bytes(static_cast<int64_t>(n)));
  return largest;
}

BlockStreamer::Staged BlockStreamer::read_block(int64_t n) const {
  // The next block's bytes head for the page cache while this one is copied out, so that the disk
  // always has a whole block queued (docs/memory.md "Block streaming").
  for (const Entry& e : blocks_.at(static_cast<size_t>((n + 1) % static_cast<int64_t>(blocks_.size())))) {
    if (e.quantized) {
      source_->will_need(e.quantized->codes_name);
      source_->will_need(e.quantized->scale_name);
    } else {
      source_->will_need(plan_.mapping.canonical_to_source.at(e.name));
    }
  }
  Staged staged;
  for (const Entry& e : blocks_.at(static_cast<size_t>(n))) {
    if (e.quantized) {
      staged.dense.emplace_back();
      staged.codes.push_back(quant::load_quantized_weight(*source_, *e.quantized));
    } else {
      staged.dense.push_back(source_->load(plan_.mapping.canonical_to_source.at(e.name), e.param.scalar_type()));
    }
  }
  std::vector<at::Tensor*> moved;
  for (at::Tensor& t : staged.dense) moved.push_back(&t);
  for (quant::QuantizedWeight& w : staged.codes) {
    moved.push_back(&w.codes);
    moved.push_back(&w.scale);
  }
  staged.ready = upload_->start(moved);
  return staged;
}

void BlockStreamer::install(int64_t n, Staged staged) {
  torch::NoGradGuard no_grad;
  if (staged.ready) staged.ready();
  std::vector<Entry>& entries = blocks_.at(static_cast<size_t>(n));
  size_t code = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    Entry& e = entries[i];
    if (e.linear) {
      e.linear->set_quantized(std::move(staged.codes.at(code++)));
    } else {
      e.param.set_(staged.dense[i]);
    }
  }
  groups_->stats().bytes_read += block_bytes(n);
}

void BlockStreamer::acquire(int64_t n) {
  if (n < 0 || n >= static_cast<int64_t>(blocks_.size())) fail("block {} of {} does not exist", n, blocks_.size());
  install(n, groups_->take(n));
}

void BlockStreamer::release(int64_t n) {
  torch::NoGradGuard no_grad;
  for (Entry& e : blocks_.at(static_cast<size_t>(n))) {
    if (e.linear) e.linear->quantized.reset();
    e.param.set_();
  }
}

}  // namespace osp::dit
