#pragma once
// Counts the bytes of CPU tensor storage alive while it is installed, and their peak: a scope
// swaps c10's CPU allocator for one that delegates to the previous allocator and keeps the
// running sum. Storage allocated inside the scope is uncounted when freed, even after the scope.
#include <c10/core/CPUAllocator.h>

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace osp::test {

class CountingCpuAllocator : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t n) const override {
    auto* block = new Block{base_->allocate(n), n, this};
    const int64_t now = live_ += static_cast<int64_t>(n);
    int64_t peak = peak_.load();
    while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
    }
    void* data = block->inner.get();
    return {data, block, &Block::release, c10::Device(c10::kCPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return nullptr; }

  int64_t live() const { return live_; }
  int64_t peak() const { return peak_; }
  void reset_peak() { peak_ = live_.load(); }

  // Installs the counter until the scope ends (c10 keeps the allocator of the highest priority,
  // so each scope installs and restores with a higher one).
  class Scope {
   public:
    explicit Scope(CountingCpuAllocator& counter) : counter_(counter) {
      counter_.base_ = c10::GetCPUAllocator();
      c10::SetCPUAllocator(&counter_, next_priority());
      counter_.reset_peak();
    }
    ~Scope() { c10::SetCPUAllocator(counter_.base_, next_priority()); }

   private:
    static uint8_t next_priority() {
      static uint8_t priority = 100;
      return ++priority;
    }
    CountingCpuAllocator& counter_;
  };

 private:
  struct Block {
    c10::DataPtr inner;
    size_t bytes;
    const CountingCpuAllocator* owner;
    static void release(void* ctx) {
      auto* b = static_cast<Block*>(ctx);
      b->owner->live_ -= static_cast<int64_t>(b->bytes);
      delete b;
    }
  };
  c10::Allocator* base_ = nullptr;
  mutable std::atomic<int64_t> live_{0}, peak_{0};
};

}  // namespace osp::test
