// core runtime helpers: the per-operation profile (op_profile.h) and the CPU block cache
// (cpu_block_cache.h).
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <c10/core/CPUAllocator.h>

#include <chrono>
#include <memory>
#include <thread>

#include <unistd.h>

#include "osp/core/cpu_block_cache.h"
#include "osp/core/op_profile.h"
#include "osp/core/runtime.h"

namespace {

using osp::profile::OpKind;

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }
double seconds_of(const osp::profile::OpTotals& t, OpKind kind) { return t.seconds[static_cast<int>(kind)]; }

TEST(OpProfile, NestedScopesCountExclusiveTimeAndFlops) {
  osp::profile::reset();
  osp::profile::set_enabled(true);
  const auto start = std::chrono::steady_clock::now();
  {
    const osp::profile::Scope outer(OpKind::kAttention, 100.0);
    sleep_ms(30);
    {
      const osp::profile::Scope inner(OpKind::kLayout);
      sleep_ms(60);
    }
  }
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  { const osp::profile::Scope gemm(OpKind::kGemm, 5.0); }
  { const osp::profile::Scope gemm(OpKind::kGemm, 7.0); }
  osp::profile::set_enabled(false);
  { const osp::profile::Scope ignored(OpKind::kGemm, 1000.0); }  // disabled: not counted
  const osp::profile::OpTotals t = osp::profile::totals();
  // Each scope owns at least its own sleep (sleeps never end early), and the two exclusive times
  // add up to no more than the wall time around the outer scope: the inner scope's 60 ms are not
  // counted again for the outer one.
  EXPECT_GE(seconds_of(t, OpKind::kLayout), 0.060);
  EXPECT_GE(seconds_of(t, OpKind::kAttention), 0.030);
  EXPECT_LE(seconds_of(t, OpKind::kAttention) + seconds_of(t, OpKind::kLayout), total);
  EXPECT_EQ(t.calls[static_cast<int>(OpKind::kGemm)], 2);
  EXPECT_EQ(t.flops[static_cast<int>(OpKind::kGemm)], 12.0);
  EXPECT_EQ(t.flops[static_cast<int>(OpKind::kAttention)], 100.0);
  EXPECT_EQ(t.calls[static_cast<int>(OpKind::kNorm)], 0);
  osp::profile::reset();
  EXPECT_EQ(osp::profile::totals().calls[static_cast<int>(OpKind::kGemm)], 0);
}

TEST(CpuBlockCache, ReusesFreedLargeBlocksWithinItsBound) {
  // Installed for the rest of this process (each test runs in a process of its own under ctest).
  constexpr int64_t kMiB = int64_t{1} << 20;
  ASSERT_TRUE(osp::install_cpu_block_cache(64 * kMiB))
      << "another CPU allocator took precedence: run this test in a process of its own";
  osp::release_cpu_block_cache();
  const auto floats = [](int64_t mib) { return mib * kMiB / 4; };

  at::Tensor a = at::arange(floats(20), at::kFloat);  // 20 MiB: a large block
  EXPECT_EQ(a[floats(20) - 1].item<float>(), static_cast<float>(floats(20) - 1));
  const void* first = a.data_ptr();
  EXPECT_EQ(reinterpret_cast<uintptr_t>(first) % (2 * kMiB), 0u);  // huge-page aligned
  EXPECT_EQ(osp::cpu_block_cache_bytes(), 0);
  a = at::Tensor();
  EXPECT_EQ(osp::cpu_block_cache_bytes(), 20 * kMiB);
  at::Tensor b = at::zeros({floats(19) + 5}, at::kFloat);  // same 2 MiB class: the cached block, zeroed
  EXPECT_EQ(b.data_ptr(), first);
  EXPECT_EQ(osp::cpu_block_cache_bytes(), 0);
  EXPECT_EQ(b.abs().max().item<float>(), 0.0f);  // (its temporary is cached when freed)
  b = at::Tensor();
  osp::release_cpu_block_cache();
  EXPECT_EQ(osp::cpu_block_cache_bytes(), 0);

  // Three 30 MiB blocks freed: only two fit the 64 MiB bound, the third goes back to the kernel.
  std::vector<at::Tensor> blocks;
  for (int i = 0; i < 3; ++i) blocks.push_back(at::ones({floats(30)}, at::kFloat));
  blocks.clear();
  EXPECT_EQ(osp::cpu_block_cache_bytes(), 60 * kMiB);
  // A much smaller request does not take a much larger block.
  const at::Tensor small_large = at::empty({floats(17)}, at::kFloat);
  EXPECT_EQ(osp::cpu_block_cache_bytes(), 60 * kMiB);

  // Of two cached blocks of one size, the one freed last is reused first (its pages are resident).
  osp::release_cpu_block_cache();
  at::Tensor older = at::empty({floats(24)}, at::kFloat), newer = at::empty({floats(24)}, at::kFloat);
  const void* newer_ptr = newer.data_ptr();
  older = at::Tensor();
  newer = at::Tensor();
  EXPECT_EQ(at::empty({floats(24)}, at::kFloat).data_ptr(), newer_ptr);

  // Small allocations and LibTorch's raw interface pass through.
  EXPECT_EQ(at::ones({10}).sum().item<float>(), 10.0f);
  c10::Allocator* allocator = c10::GetCPUAllocator();
  void* raw = allocator->raw_allocate(24 * kMiB);
  static_cast<char*>(raw)[24 * kMiB - 1] = 1;
  allocator->raw_deallocate(raw);
  void* raw_small = allocator->raw_allocate(100);
  allocator->raw_deallocate(raw_small);

  osp::release_free_memory();  // between stages: the cache is emptied
  EXPECT_EQ(osp::cpu_block_cache_bytes(), 0);
}

TEST(CpuBlockCache, ScopedCapsEmptyTheCacheAndLiftWhenTheLastEnds) {
  constexpr int64_t kMiB = int64_t{1} << 20;
  ASSERT_TRUE(osp::install_cpu_block_cache(64 * kMiB))
      << "another CPU allocator took precedence: run this test in a process of its own";
  osp::release_cpu_block_cache();
  const auto large = [](int64_t mib) { return at::empty({mib * kMiB / 4}, at::kFloat); };

  large(20);  // allocated and freed: cached
  EXPECT_EQ(osp::cpu_block_cache_bytes(), 20 * kMiB);
  {
    const osp::CpuBlockCacheBound none(0);
    EXPECT_EQ(osp::cpu_block_cache_bytes(), 0);  // emptied on entry
    large(20);
    EXPECT_EQ(osp::cpu_block_cache_bytes(), 0);  // and nothing freed inside is kept
    {
      const osp::CpuBlockCacheBound higher(40 * kMiB);  // nested: a cap never raises the bound
      large(20);
      EXPECT_EQ(osp::cpu_block_cache_bytes(), 0);
    }
    large(20);
    EXPECT_EQ(osp::cpu_block_cache_bytes(), 0);
  }
  large(20);
  EXPECT_EQ(osp::cpu_block_cache_bytes(), 20 * kMiB);  // the 64 MiB bound is back

  // Overlapping scopes (as decodes on two threads would be) ending in the order they began: the
  // bound stays capped until the last one ends, then the set bound holds again.
  auto first = std::make_unique<osp::CpuBlockCacheBound>(0);
  auto second = std::make_unique<osp::CpuBlockCacheBound>(30 * kMiB);
  first.reset();
  large(20);
  EXPECT_EQ(osp::cpu_block_cache_bytes(), 20 * kMiB);
  at::Tensor x = large(20), y = large(24);
  x = at::Tensor();
  y = at::Tensor();  // 44 MiB would pass the 30 MiB cap: the 24 MiB block is unmapped
  EXPECT_EQ(osp::cpu_block_cache_bytes(), 20 * kMiB);
  second.reset();
  at::Tensor a = large(20), b = large(24);
  a = at::Tensor();
  b = at::Tensor();
  EXPECT_EQ(osp::cpu_block_cache_bytes(), 44 * kMiB);

  // Setting the bound inside a scope changes the bound the scope returns to, not its cap.
  {
    const osp::CpuBlockCacheBound none(0);
    EXPECT_EQ(osp::set_cpu_block_cache_bound(48 * kMiB), 64 * kMiB);
    large(20);
    EXPECT_EQ(osp::cpu_block_cache_bytes(), 0);
  }
  EXPECT_EQ(osp::set_cpu_block_cache_bound(64 * kMiB), 48 * kMiB);

  // Lowering the bound keeps the block freed last, whatever its size.
  osp::release_cpu_block_cache();
  at::Tensor older = large(20), newer = large(30);
  const void* newer_ptr = newer.data_ptr();
  older = at::Tensor();
  newer = at::Tensor();
  EXPECT_EQ(osp::cpu_block_cache_bytes(), 50 * kMiB);
  EXPECT_EQ(osp::set_cpu_block_cache_bound(32 * kMiB), 64 * kMiB);
  EXPECT_EQ(osp::cpu_block_cache_bytes(), 30 * kMiB);
  EXPECT_EQ(large(30).data_ptr(), newer_ptr);
  EXPECT_EQ(osp::set_cpu_block_cache_bound(64 * kMiB), 32 * kMiB);
}

TEST(CpuBlockCache, DefaultBoundFollowsTheEnvironment) {
  setenv("OSP_CPU_BLOCK_CACHE_MB", "0", 1);
  EXPECT_EQ(osp::default_cpu_block_cache_bytes(), 0);
  setenv("OSP_CPU_BLOCK_CACHE_MB", "300", 1);
  EXPECT_EQ(osp::default_cpu_block_cache_bytes(), int64_t{300} << 20);
  setenv("OSP_CPU_BLOCK_CACHE_MB", "lots", 1);  // not a number: the default bound, with a warning
  const int64_t fallback = osp::default_cpu_block_cache_bytes();
  unsetenv("OSP_CPU_BLOCK_CACHE_MB");
  EXPECT_EQ(fallback, osp::default_cpu_block_cache_bytes());
  EXPECT_GT(fallback, 0);
  const int64_t total = static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
  EXPECT_EQ(fallback, total / 4);
}

}  // namespace
