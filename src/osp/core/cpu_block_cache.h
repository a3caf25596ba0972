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

// Sets how many bytes of freed blocks the cache may hold from now on and returns the bound it had
// (0 when not installed; then nothing changes). Cached blocks beyond the bound in force are handed
// back to the kernel, most recently freed kept. Active CpuBlockCacheBound scopes still cap it.
int64_t set_cpu_block_cache_bound(int64_t max_cached_bytes);

// Caps the cache's bound at `max_cached_bytes` while the scope lives; entering it hands back the
// cached blocks beyond the cap. The bound in force is the smallest of the set bound and the caps of
// all live scopes, so scopes may nest, overlap on different threads and end in any order: the
// bound returns to its set value when the last one ends. A no-op when the cache is not installed.
// The VAE's chunked decode uses a cap of 0: its activation sizes change with every resolution level
// and chunk, so whatever it frees is rarely asked for again, and cached it would add up to the
// whole bound on top of the decode's live tensors (docs/memory.md "Large CPU blocks").
class CpuBlockCacheBound {
 public:
  explicit CpuBlockCacheBound(int64_t max_cached_bytes);
  ~CpuBlockCacheBound();
  CpuBlockCacheBound(const CpuBlockCacheBound&) = delete;
  CpuBlockCacheBound& operator=(const CpuBlockCacheBound&) = delete;

 private:
  int64_t cap_;
  bool added_;  // false when no cache was installed as the scope began
};

}  // namespace osp
