#pragma once
// A CPU allocator for LibTorch that keeps large freed blocks for reuse (docs/memory.md "Large
// CPU blocks").
//
// Why: a DiT block allocates and frees the same large activations (tens to hundreds of MiB) over
// and over. glibc serves allocations above 32 MiB (and, after a trim, smaller ones) with fresh
// mmap()s, so every such tensor is page-faulted and zeroed by the kernel again on first touch:
// measured, a third of the time of the norms and element-wise operations of a 1.3B-width block at
// 7,800 tokens was page faults. Here blocks of at least 16 MiB are mapped 2 MiB-aligned with
// transparent huge pages requested (512× fewer faults where the kernel grants them) and, when
// freed, kept in a bounded cache from which an allocation of the same size class is served without
// touching the kernel. Smaller allocations go to the allocator that was installed before.
//
// The cache holds at most `max_cached_bytes`; beyond that freed blocks go back to the kernel.
// release_free_memory() (runtime.h) empties it between the stages of a generation.
#include <cstdint>

namespace osp {

// Installs the allocator for the whole process (c10::SetCPUAllocator) unless already installed;
// 0 bytes leaves LibTorch's allocator in place. Call before the first tensor that should use it.
// True when the cache is LibTorch's CPU allocator afterwards (false for 0 bytes, or when an
// allocator was installed before with a higher priority).
bool install_cpu_block_cache(int64_t max_cached_bytes);

// The default bound: OSP_CPU_BLOCK_CACHE_MB from the environment when set (0: off), else a quarter
// of the machine's memory (a 1.3B-width Skiparse forward at 32,760 tokens cycles through ~5 GiB of
// large blocks; with a 3 GiB bound its GEMMs ran 1.3x slower).
int64_t default_cpu_block_cache_bytes();

// Whether the cache is installed in this process (memory plans count one freed block it keeps).
bool cpu_block_cache_installed();

// Bytes of freed blocks held for reuse now (0 when not installed).
int64_t cpu_block_cache_bytes();

// Hands every cached block back to the kernel.
void release_cpu_block_cache();

// Lets the cache reuse blocks without adding to the peak: while the scope lives, a block is mapped
// only after handing back as many cached blocks (freed longest ago first) as keep the large blocks
// mapped, live and cached, within the most that were live at once since the scope began. Entering
// empties the cache, and so does the end of the last live scope. Scopes may nest and overlap on
// different threads; the rule holds while any is live. A no-op when the cache is not installed.
// The VAE's chunked encode and decode run in one: their activation sizes change with every
// resolution level, so blocks cached freely would pile up, unused, on top of their peak, while
// within it the next chunk reuses what the last one freed (docs/memory.md "Large CPU blocks").
class CpuBlockCacheNoGrowth {
 public:
  CpuBlockCacheNoGrowth();
  ~CpuBlockCacheNoGrowth();
  CpuBlockCacheNoGrowth(const CpuBlockCacheNoGrowth&) = delete;
  CpuBlockCacheNoGrowth& operator=(const CpuBlockCacheNoGrowth&) = delete;

 private:
  bool entered_;  // false when no cache was installed as the scope began
};

}  // namespace osp
