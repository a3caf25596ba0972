#pragma once
// Process-wide runtime settings: intra-op threads and device selection.
#include <c10/core/Device.h>

#include <string>

namespace osp {

// Sets LibTorch's intra-op thread count; n <= 0 means all cores. Debian's LibTorch 1.13 starts with
// one thread on some machines, so every command calls this before any tensor work.
void set_threads(int n);

// Parses "cpu", "cuda", "cuda:N" or "auto" (CUDA when available, else CPU).
c10::Device parse_device(const std::string& text);

// Resident-set high-water mark of this process in bytes (VmHWM), 0 where unknown.
size_t peak_rss_bytes();

// Current resident set of this process in bytes (VmRSS), 0 where unknown.
size_t current_rss_bytes();

// Hands the allocator's free heap pages back to the kernel (glibc malloc_trim; a no-op
// elsewhere), and the blocks of the CPU block cache (cpu_block_cache.h). Between the stages of a generation, the freed model's and activations' small
// allocations otherwise stay resident as free heap chunks and add to the next stage's peak.
void release_free_memory();

// Resets the high-water mark to the current RSS (Linux: "5" to /proc/self/clear_refs), so that a
// measurement covers one stage only. Returns false where the kernel refuses.
bool reset_peak_rss();

}  // namespace osp
