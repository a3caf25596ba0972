#pragma once
// The one place where differences between Debian's LibTorch 1.13 and LibTorch 2.x are guarded.
// Everything else in the tree calls these helpers instead of testing versions itself.
#include <ATen/ATen.h>
#include <torch/version.h>

#define OSP_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

// LibTorch 2.3 made c10::Allocator::allocate non-const and added the pure virtual copy_data. An
// allocator written for both declares `allocate(size_t) OSP_ALLOCATE_CONST override` and puts
// OSP_ALLOCATOR_COPY_DATA in its class body.
#if OSP_TORCH_AT_LEAST(2, 3)
#define OSP_ALLOCATE_CONST
#define OSP_ALLOCATOR_COPY_DATA                                                    \
  void copy_data(void* dest, const void* src, std::size_t count) const override { \
    default_copy_data(dest, src, count);                                           \
  }
#else
#define OSP_ALLOCATE_CONST const
#define OSP_ALLOCATOR_COPY_DATA
#endif

namespace osp::compat {

// at::scaled_dot_product_attention (flash / memory-efficient kernels on CUDA, a fused kernel on
// the CPU) came in LibTorch 2.0; its `scale` argument, which we need, in 2.1.
constexpr bool kHasSdpa = OSP_TORCH_AT_LEAST(2, 1);
// LibTorch 2.1 added the float8 scalar types (e4m3fn, e5m2).
constexpr bool kHasFloat8 = OSP_TORCH_AT_LEAST(2, 1);

// softmax(q kᵀ · scale) v on [B, N, L, D] tensors through SDPA where LibTorch has it; returns an
// undefined tensor where it does not, so callers fall back to their own math path. Optional
// attn_mask: bool, broadcastable to [B, N, Lq, Lk], true = take part (undefined: no mask).
at::Tensor sdpa_or_undefined(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale,
                             const at::Tensor& attn_mask = {});

// Human-readable LibTorch version, e.g. "1.13.1".
const char* torch_version();

// Waits until the work queued on `device` has finished: CUDA kernels run asynchronously, so a
// timer reads its clock only after this. A no-op on the CPU. (torch::cuda::synchronize, in every
// LibTorch we build against; it needs no CUDA headers and throws where CUDA is missing.)
void synchronize(const c10::Device& device);

}  // namespace osp::compat
