#include "osp/models/t5/layer_streamer.h"

#include "osp/core/error.h"
#include "osp/io/key_names.h"

namespace osp::t5 {

T5LayerStreamer::T5LayerStreamer(T5Encoder& encoder, std::shared_ptr<const io::TensorSource> source, bool prefetch)
    : encoder_(encoder), source_(std::move(source)), mapping_(checked_t5_mapping(encoder.config(), *source_)) {
  layers_.resize(static_cast<size_t>(encoder_.config().num_layers));
  for (auto& [name, slot] : encoder_.weights().named_slots()) {
    const std::string& file_name = mapping_.canonical_to_source.at(name);
    const int64_t layer = io::block_number(name);
    if (name == "token_embedding.weight") {
      embedding_ = file_name;
    } else if (layer < 0) {
      *slot = source_->load(file_name, encoder_.weight_dtype()).to(encoder_.device());  // the final norm
    } else {
      const io::TensorMeta& meta = source_->meta(file_name);
      layers_.at(static_cast<size_t>(layer))
          .push_back({file_name, slot, meta.numel() * static_cast<int64_t>(io::dtype_size(meta.dtype))});
    }
  }
  upload_ = make_device_upload(encoder_.device());
  groups_ = std::make_unique<io::StreamedGroups<Staged>>(
      *source_, static_cast<int64_t>(layers_.size()), prefetch, [this](int64_t n) { return read_layer(n); });
}

at::Tensor T5LayerStreamer::embedding_rows(const at::Tensor& ids) {
  const at::Tensor cpu = ids.to(at::kCPU, at::kLong).contiguous();
  const std::vector<int64_t> rows(cpu.data_ptr<int64_t>(), cpu.data_ptr<int64_t>() + cpu.numel());
  return source_->load_rows(embedding_, rows, encoder_.weight_dtype()).to(encoder_.device());
}

T5LayerStreamer::Staged T5LayerStreamer::read_layer(int64_t layer) const {
  // The next layer's bytes head for the page cache while this one is copied out.
  const auto& next = layers_.at(static_cast<size_t>((layer + 1) % static_cast<int64_t>(layers_.size())));
  for (const Slot& s : next) source_->will_need(s.source_name);
  Staged out;
  for (const Slot& s : layers_.at(static_cast<size_t>(layer))) {
    out.tensors.push_back(source_->load(s.source_name, encoder_.weight_dtype()));
  }
  std::vector<at::Tensor*> moved;
  for (at::Tensor& t : out.tensors) moved.push_back(&t);
  out.ready = upload_->start(moved);
  return out;
}

void T5LayerStreamer::acquire(int64_t layer) {
  Staged values = groups_->take(layer);
  if (values.ready) values.ready();
  std::vector<Slot>& slots = layers_.at(static_cast<size_t>(layer));
  for (size_t i = 0; i < slots.size(); ++i) {
    *slots[i].slot = std::move(values.tensors[i]);
    groups_->stats().bytes_read += slots[i].bytes;
  }
}

void T5LayerStreamer::release(int64_t layer) {
  for (Slot& s : layers_.at(static_cast<size_t>(layer))) *s.slot = at::Tensor();
}

}  // namespace osp::t5
