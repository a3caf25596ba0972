#include "osp/core/cpu_block_cache.h"

#include <c10/core/CPUAllocator.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "osp/core/log.h"
#include "osp/core/torch_compat.h"

namespace osp {
namespace {

// Smaller allocations go to the previous allocator: rounding them up to whole huge pages would
// waste up to 1/8 of their size at this bound, far more below it.
constexpr size_t kLargeBytes = size_t{16} << 20;
constexpr size_t kHugePage = size_t{2} << 20;

size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

// An anonymous mapping of `bytes` (a multiple of 2 MiB) at a 2 MiB-aligned address, so that the
// kernel can back it with huge pages; the unaligned head and tail of a larger mapping are unmapped.
void* map_aligned(size_t bytes) {
  const size_t span = bytes + kHugePage;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const auto start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = round_up(start, kHugePage);
  if (aligned > start) munmap(raw, aligned - start);
  const uintptr_t end = start + span, used_end = aligned + bytes;
  if (end > used_end) munmap(reinterpret_cast<void*>(used_end), end - used_end);
  void* block = reinterpret_cast<void*>(aligned);
#ifdef MADV_HUGEPAGE
  madvise(block, bytes, MADV_HUGEPAGE);  // a hint: refused where huge pages are off
#endif
  return block;
}

class BlockCache : public c10::Allocator {
 public:
  BlockCache(c10::Allocator* base, int64_t max_cached) : base_(base), max_cached_(static_cast<size_t>(max_cached)) {}

  // The context is the data pointer itself (LibTorch's raw_allocate requires it); the size of each
  // large block lives in a table keyed by it.
  c10::DataPtr allocate(size_t n) OSP_ALLOCATE_CONST override {
    if (n < kLargeBytes) return base_->allocate(n);
    size_t bytes = round_up(n, kHugePage);
    void* block = take_cached(bytes);
    if (block == nullptr) {
      make_room_within_peak(bytes);
      block = map_aligned(bytes);
    }
    if (block == nullptr) throw std::bad_alloc();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      live_[block] = bytes;
      live_bytes_ += bytes;
      peak_live_bytes_ = std::max(peak_live_bytes_, live_bytes_);
    }
    return {block, block, &release, c10::Device(c10::kCPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &release; }
  OSP_ALLOCATOR_COPY_DATA

  int64_t cached_bytes() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<int64_t>(cached_);
  }

  void release_cached() const { trim_to(0); }

  // While a no-growth scope is live, the large blocks mapped (live and cached) stay within the
  // most that were live at once since the first such scope began. Entering empties the cache, so
  // the scope starts from its live blocks alone.
  void enter_no_growth() const {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (no_growth_scopes_++ == 0) peak_live_bytes_ = live_bytes_;
    }
    trim_to(0);
  }
  // The last scope to end empties the cache too: what it kept was sized for the scope's work.
  void leave_no_growth() const {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (no_growth_scopes_ > 0 && --no_growth_scopes_ > 0) return;
    }
    trim_to(0);
  }

  static BlockCache* instance;

 private:
  // Before a new block of `bytes` is mapped inside a no-growth scope: hands back cached blocks until
  // the mapped total stays within the peak of live blocks (or within the live blocks plus the new
  // one, when that sets a new peak). Outside a scope nothing is handed back. A block freed on
  // another thread between this and the mapping can be cached beyond the rule by its size; the
  // VAE's passes allocate their large blocks on one thread.
  void make_room_within_peak(size_t bytes) const {
    size_t keep = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (no_growth_scopes_ == 0) return;
      const size_t live_after = live_bytes_ + bytes;
      keep = std::max(peak_live_bytes_, live_after) - live_after;
    }
    trim_to(keep);
  }

  // The smallest cached block of at least `bytes` and at most a quarter larger (a bigger one would
  // waste more than it saves); `bytes` becomes the block's own size, which is what is later cached
  // again or unmapped. Of several blocks of that size the one freed last: its pages are resident,
  // while an older one may never have been touched (a model's parameters are allocated once and
  // replaced by streamed weights unread), and cycling through those would make every cached byte
  // resident.
  void* take_cached(size_t& bytes) const {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto smallest = free_.lower_bound(bytes);
    if (smallest == free_.end() || smallest->first > bytes + bytes / 4) return nullptr;
    const auto it = std::prev(free_.upper_bound(smallest->first));  // multimap: equal keys in insertion order
    void* block = it->second.block;
    bytes = it->first;
    cached_ -= bytes;
    free_.erase(it);
    return block;
  }

  // Unmaps cached blocks, the ones freed longest ago first, until at most `keep` bytes remain.
  void trim_to(size_t keep) const {
    std::vector<std::pair<size_t, void*>> unmapped;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      while (cached_ > keep) {
        const auto oldest = std::min_element(free_.begin(), free_.end(), [](const auto& a, const auto& b) {
          return a.second.freed < b.second.freed;
        });
        unmapped.emplace_back(oldest->first, oldest->second.block);
        cached_ -= oldest->first;
        free_.erase(oldest);
      }
    }
    for (const auto& [bytes, block] : unmapped) munmap(block, bytes);
  }

  static void release(void* ptr) { instance->give_back(ptr); }

  void give_back(void* ptr) const {
    size_t bytes = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      const auto it = live_.find(ptr);
      if (it == live_.end()) {
        base_->raw_deleter()(ptr);  // a small block of the previous allocator (raw_deallocate)
        return;
      }
      bytes = it->second;
      live_.erase(it);
      live_bytes_ -= bytes;
      if (cached_ + bytes <= max_cached_) {
        free_.emplace(bytes, Cached{ptr, ++frees_});
        cached_ += bytes;
        return;
      }
    }
    munmap(ptr, bytes);
  }

  c10::Allocator* base_;
  size_t max_cached_;
  mutable std::mutex mutex_;
  mutable std::unordered_map<void*, size_t> live_;
  struct Cached {
    void* block;
    uint64_t freed;  // the number of the free that cached it: orders blocks of different sizes by age
  };
  mutable std::multimap<size_t, Cached> free_;
  mutable uint64_t frees_ = 0;
  mutable size_t cached_ = 0;
  mutable size_t live_bytes_ = 0;       // the sizes of the blocks in live_
  mutable size_t peak_live_bytes_ = 0;  // the most live_bytes_ since the first no-growth scope began
  mutable int no_growth_scopes_ = 0;
};

BlockCache* BlockCache::instance = nullptr;

}  // namespace

bool install_cpu_block_cache(int64_t max_cached_bytes) {
  static std::mutex install_mutex;
  std::lock_guard<std::mutex> lock(install_mutex);
  if (BlockCache::instance != nullptr) return c10::GetCPUAllocator() == BlockCache::instance;
  if (max_cached_bytes <= 0) return false;
  auto cache = std::make_unique<BlockCache>(c10::GetCPUAllocator(), max_cached_bytes);
  c10::SetCPUAllocator(cache.get(), /*priority=*/1);
  // c10 keeps an allocator installed with a higher priority (a test's counting allocator).
  if (c10::GetCPUAllocator() != cache.get()) return false;
  // Never destroyed: tensors freed during static destruction still return their blocks here.
  BlockCache::instance = cache.release();
  return true;
}

int64_t default_cpu_block_cache_bytes() {
  if (const char* text = std::getenv("OSP_CPU_BLOCK_CACHE_MB")) {
    char* end = nullptr;
    const long long mb = std::strtoll(text, &end, 10);
    if (end != text && *end == '\0' && mb >= 0 && mb <= (int64_t{1} << 30)) return static_cast<int64_t>(mb) << 20;
    log::warn("OSP_CPU_BLOCK_CACHE_MB={} is not a number of MiB in [0, 2^30]: using the default bound", text);
  }
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  const int64_t total = pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page : int64_t{8} << 30;
  return total / 4;
}

bool cpu_block_cache_installed() { return BlockCache::instance != nullptr; }

int64_t cpu_block_cache_bytes() { return BlockCache::instance ? BlockCache::instance->cached_bytes() : 0; }

void release_cpu_block_cache() {
  if (BlockCache::instance) BlockCache::instance->release_cached();
}

CpuBlockCacheNoGrowth::CpuBlockCacheNoGrowth() : entered_(BlockCache::instance != nullptr) {
  if (entered_) BlockCache::instance->enter_no_growth();
}

CpuBlockCacheNoGrowth::~CpuBlockCacheNoGrowth() {
  if (entered_) BlockCache::instance->leave_no_growth();
}

}  // namespace osp
