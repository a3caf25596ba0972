#include "osp/core/device_upload.h"

#if OSP_WITH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace osp {
namespace {

class HostUpload : public DeviceUpload {
 public:
  Ready start(const std::vector<at::Tensor*>&) override { return {}; }
};

// A device without a side-stream path: each tensor copied before start() returns.
class SynchronousUpload : public DeviceUpload {
 public:
  explicit SynchronousUpload(c10::Device device) : device_(device) {}
  Ready start(const std::vector<at::Tensor*>& tensors) override {
    for (at::Tensor* t : tensors) {
      if (t->defined()) *t = t->to(device_);
    }
    return {};
  }

 private:
  c10::Device device_;
};

#if OSP_WITH_CUDA
class CudaSideStreamUpload : public DeviceUpload {
 public:
  explicit CudaSideStreamUpload(c10::Device device)
      : device_(device), side_(c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device.index())) {}

  Ready start(const std::vector<at::Tensor*>& tensors) override {
    const c10::cuda::CUDAStreamGuard on_side(side_);
    std::vector<at::Tensor> moved;
    for (at::Tensor* t : tensors) {
      if (!t->defined()) continue;
      // Pinned memory makes the copy asynchronous; the host allocator keeps the pinned block
      // until the copy's event has passed.
      *t = t->pin_memory().to(device_, /*non_blocking=*/true);
      moved.push_back(*t);
    }
    auto copied = std::make_shared<at::cuda::CUDAEvent>();
    copied->record(side_);
    const c10::DeviceIndex index = device_.index();
    return [copied, moved = std::move(moved), index] {
      const c10::cuda::CUDAStream compute = c10::cuda::getCurrentCUDAStream(index);
      copied->block(compute);
      for (const at::Tensor& t : moved) t.record_stream(compute.unwrap());
    };
  }

 private:
  c10::Device device_;
  c10::cuda::CUDAStream side_;
};
#endif

}  // namespace

std::unique_ptr<DeviceUpload> make_device_upload(c10::Device device) {
  if (device.is_cpu()) return std::make_unique<HostUpload>();
#if OSP_WITH_CUDA
  if (device.is_cuda()) {
    // A device without an index means the current one; the side stream needs a concrete index.
    const c10::Device concrete(c10::kCUDA, device.has_index() ? device.index() : c10::cuda::current_device());
    return std::make_unique<CudaSideStreamUpload>(concrete);
  }
#endif
  return std::make_unique<SynchronousUpload>(device);
}

}  // namespace osp
