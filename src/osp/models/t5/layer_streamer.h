#pragma once
// Layer streaming for the umT5 encoder (docs/memory.md "Block streaming"): umT5-XXL holds 11.4 GB
// of bf16 weights, 2.1 GB of them in the 256k-row token embedding of which a prompt needs a few
// dozen rows. The checkpoint stays mapped; the embedding's rows are read per prompt, each layer's
// nine tensors just before the layer runs (the next one read ahead on a background thread) and
// dropped after it; only the final norm stays resident. The encoder computes exactly what the
// resident one computes (test `T5Streaming.*`).
#include <memory>
#include <string>
#include <vector>

#include "osp/core/device_upload.h"
#include "osp/io/streamed_groups.h"
#include "osp/io/tensor_source.h"
#include "osp/models/t5/encoder.h"
#include "osp/models/t5/loader.h"

namespace osp::t5 {

class T5LayerStreamer : public T5Residency {
 public:
  // Checks `source` against the encoder's config (as load_t5_weights does) and loads the final norm.
  T5LayerStreamer(T5Encoder& encoder, std::shared_ptr<const io::TensorSource> source, bool prefetch = true);

  at::Tensor embedding_rows(const at::Tensor& ids) override;
  void acquire(int64_t layer) override;
  void release(int64_t layer) override;

  const std::string& layout() const { return mapping_.layout; }
  const io::StreamStats& stats() const { return groups_->stats(); }

 private:
  struct Slot {
    std::string source_name;
    at::Tensor* slot = nullptr;  // in the encoder's T5Weights
    int64_t bytes = 0;
  };
  // A layer's tensors, read and on their way to the encoder's device.
  struct Staged {
    std::vector<at::Tensor> tensors;
    DeviceUpload::Ready ready;  // run before they are used
  };
  Staged read_layer(int64_t layer) const;

  T5Encoder& encoder_;
  std::shared_ptr<const io::TensorSource> source_;
  io::KeyMapping mapping_;
  std::string embedding_;                 // the embedding's name in the file
  std::vector<std::vector<Slot>> layers_;
  std::unique_ptr<DeviceUpload> upload_;  // to the encoder's device (a side stream on CUDA)
  std::unique_ptr<io::StreamedGroups<Staged>> groups_;
};

}  // namespace osp::t5
