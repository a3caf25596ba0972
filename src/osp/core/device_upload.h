#pragma once
// Moving streamed weights from host memory to the device that computes with them (docs/memory.md
// "Streaming onto a GPU"). A reading thread calls start() with the tensors it has just read; the
// computing thread calls the returned Ready before the tensors are used.
//
//   CPU:  nothing moves; Ready does nothing.
//   CUDA: the copies are queued on a side stream, from pinned host memory, so that block n + 1
//         crosses the bus while block n's kernels run. Ready makes the compute stream (not the
//         host) wait for the side stream's event, and ties each tensor's memory to the compute
//         stream, so that the caching allocator does not hand it out again while kernels read it.
//   any other device: a plain synchronous copy.
#include <ATen/ATen.h>

#include <functional>
#include <memory>
#include <vector>

namespace osp {

class DeviceUpload {
 public:
  using Ready = std::function<void()>;
  virtual ~DeviceUpload() = default;
  // Replaces every defined tensor that `tensors` points to with its copy on the device (a copy
  // that may still be in flight until Ready has run).
  virtual Ready start(const std::vector<at::Tensor*>& tensors) = 0;
};

// The upload for `device`; the CUDA one needs a CUDA build (OSP_WITH_CUDA), elsewhere a CUDA
// device gets the synchronous copy.
std::unique_ptr<DeviceUpload> make_device_upload(c10::Device device);

}  // namespace osp
