#pragma once
// Block streaming (docs/memory.md "Block streaming"): a DiT whose blocks stay in the checkpoint on
// disk. The checkpoint is mapped; block n's tensors are read (and converted to the parameters'
// dtype, or kept as 8-bit codes) just before the block runs and dropped after it, while a
// background thread reads block n + 1 (after the last block: block 0 of the next call). The
// non-block parameters (embeddings, head) stay resident. Resident memory is then the small
// parameters plus about two blocks, whatever the depth; the values are the resident model's,
// so the outputs are bit-identical (test `BlockStreaming.*`).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "osp/core/device_upload.h"
#include "osp/io/streamed_groups.h"
#include "osp/io/tensor_source.h"
#include "osp/models/dit/block_residency.h"
#include "osp/models/dit/loader.h"
#include "osp/models/dit/model.h"

namespace osp::dit {

class BlockStreamer : public BlockResidency {
 public:
  // Checks `source` against the whole model (as load_weights does), loads the non-block
  // parameters, empties every block's parameters and attaches itself to `model`
  // (set_block_residency). `prefetch`: read the next block on a background thread. `upload`
  // moves each block read to the model's device (null: make_device_upload(model.device()); on
  // CUDA the copy runs on a side stream, docs/memory.md "Streaming onto a GPU").
  BlockStreamer(WanDiT& model, std::shared_ptr<const io::TensorSource> source, bool prefetch = true,
                std::unique_ptr<DeviceUpload> upload = nullptr);
  ~BlockStreamer() override;  // detaches from the model, waits for a read in flight
  BlockStreamer(const BlockStreamer&) = delete;
  BlockStreamer& operator=(const BlockStreamer&) = delete;

  void acquire(int64_t n) override;
  void release(int64_t n) override;

  const LoadReport& report() const { return plan_.report; }
  const io::StreamStats& stats() const { return groups_->stats(); }
  // Checkpoint bytes of block n's tensors, and of the largest block.
  int64_t block_bytes(int64_t n) const;
  int64_t largest_block_bytes() const;

 private:
  // One parameter of a block: where its values are in the file and where they go.
  struct Entry {
    std::string name;                     // canonical
    at::Tensor param;                     // the model's parameter (shares its TensorImpl)
    nn::LinearWeights* linear = nullptr;  // set: 8-bit codes for this linear's weight
    const quant::QuantizedEntry* quantized = nullptr;
    int64_t bytes = 0;
  };
  // Block n's values, read but not yet installed.
  struct Staged {
    std::vector<at::Tensor> dense;               // per entry (undefined for 8-bit entries)
    std::vector<quant::QuantizedWeight> codes;   // per 8-bit entry, in entry order
    DeviceUpload::Ready ready;                   // run before the values are used
  };

  Staged read_block(int64_t n) const;  // thread-safe: reads the file only
  void install(int64_t n, Staged staged);

  WanDiT& model_;
  std::shared_ptr<const io::TensorSource> source_;
  LoadPlan plan_;
  std::vector<std::vector<Entry>> blocks_;
  std::unique_ptr<DeviceUpload> upload_;
  std::unique_ptr<io::StreamedGroups<Staged>> groups_;
};

}  // namespace osp::dit
