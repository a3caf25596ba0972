#pragma once
// Counts the bytes of CPU tensor storage alive while it is installed, and their peak: a scope
// swaps c10's CPU allocator for one that delegates to the previous allocator and keeps the
// running sum. Storage allocated inside the scope is uncounted when freed, even after the scope.
#include <c10/core/CPUAllocator.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "osp/core/torch_compat.h"

namespace osp::test {

class CountingCpuAllocator : public c10::Allocator {
 public:
  // The context is the data pointer itself (LibTorch's raw_allocate, used by some GEMM paths,
  // requires that); the bookkeeping lives in a table keyed by it.
  c10::DataPtr allocate(size_t n) OSP_ALLOCATE_CONST override {
    c10::DataPtr inner = base_->allocate(n);
    void* data = inner.get();
    if (data == nullptr) return inner;  // zero bytes: nothing to count
    {
      std::lock_guard<std::mutex> lock(table_mutex());
      table().emplace(data, Block{std::move(inner), n, this});
    }
    const int64_t now = live_ += static_cast<int64_t>(n);
    int64_t peak = peak_.load();
    while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
    }
    return {data, data, &release, c10::Device(c10::kCPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &release; }
  OSP_ALLOCATOR_COPY_DATA

  int64_t live() const { return live_; }
  int64_t peak() const { return peak_; }
  void reset_peak() { peak_ = live_.load(); }

  // Installs the counter until the scope ends (c10 keeps the allocator of the highest priority,
  // so each scope installs and restores with a higher one).
  class Scope {
   public:
    explicit Scope(CountingCpuAllocator& counter) : counter_(counter) {
      counter_.base_ = c10::GetCPUAllocator();
      if (outside_allocator() == nullptr) outside_allocator() = counter_.base_;
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
  };
  static std::mutex& table_mutex() {
    static std::mutex m;
    return m;
  }
  static std::unordered_map<void*, Block>& table() {
    static auto* t = new std::unordered_map<void*, Block>();  // outlives every tensor
    return *t;
  }
  // LibTorch's raw_deallocate frees through whichever allocator is current, so memory that the
  // default allocator handed out before a scope may come back here: it goes back to that allocator.
  static c10::Allocator*& outside_allocator() {
    static c10::Allocator* a = nullptr;
    return a;
  }
  static void release(void* data) {
    Block block;
    {
      std::lock_guard<std::mutex> lock(table_mutex());
      auto it = table().find(data);
      if (it == table().end()) {
        c10::Allocator* outside = outside_allocator();
        if (outside != nullptr && outside->raw_deleter() != nullptr) outside->raw_deleter()(data);
        return;
      }
      block = std::move(it->second);
      table().erase(it);
    }
    block.owner->live_ -= static_cast<int64_t>(block.bytes);
  }
  c10::Allocator* base_ = nullptr;
  mutable std::atomic<int64_t> live_{0}, peak_{0};
};

}  // namespace osp::test
