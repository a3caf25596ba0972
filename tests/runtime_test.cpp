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

// The no-growth rule against a hand-kept ledger: every allocation below names the blocks mapped
// (live + cached) and the most live at once since the scope began; mapped never exceeds that peak,
// while blocks within it are reused.
TEST(CpuBlockCache, NoGrowthScopeReusesBlocksWithinTheLivePeak) {
  constexpr int64_t kMiB = int64_t{1} << 20;
  ASSERT_TRUE(osp::install_cpu_block_cache(64 * kMiB))
      << "another CPU allocator took precedence: run this test in a process of its own";
  osp::release_cpu_block_cache();
  const auto large = [](int64_t mib) { return at::empty({mib * kMiB / 4}, at::kFloat); };
  const auto cached = [&] { return osp::cpu_block_cache_bytes() / kMiB; };

  large(20);
  ASSERT_EQ(cached(), 20);
  {
    const osp::CpuBlockCacheNoGrowth outer;
    EXPECT_EQ(cached(), 0);  // emptied on entry: nothing is live, so the peak starts at 0
    large(20);
    EXPECT_EQ(cached(), 20);  // live 20 → cached 20: mapped 20 = peak 20
    large(20);
    EXPECT_EQ(cached(), 20);  // served from the cache: nothing new mapped
    at::Tensor c = large(24);
    EXPECT_EQ(cached(), 0);  // a miss: 20 cached + 24 new > peak 24, so the 20 goes back
    c = at::Tensor();
    EXPECT_EQ(cached(), 24);
    at::Tensor d = large(16);  // 24 is more than a quarter above 16: a miss; 24 + 16 > 24
    EXPECT_EQ(cached(), 0);
    {
      const osp::CpuBlockCacheNoGrowth inner;  // nested: empties again, keeps the outer peak (24)
      at::Tensor e = large(24);  // live 16 + 24 = 40: a new peak
      e = at::Tensor();
      d = at::Tensor();
      EXPECT_EQ(cached(), 40);  // mapped 40 = peak 40: 24 (freed first) and 16
    }
    EXPECT_EQ(cached(), 40);  // the outer scope is still live: the inner end empties nothing
    // A miss (24 is more than a quarter above 18) with room for 40 - 18 = 22 cached bytes: the block
    // freed longest ago (24) goes back, the one freed last stays and serves the next 16.
    at::Tensor f = large(18);
    EXPECT_EQ(cached(), 16);
    at::Tensor g = large(16);
    EXPECT_EQ(cached(), 0);
    f = at::Tensor();
    g = at::Tensor();
    EXPECT_EQ(cached(), 34);
  }
  EXPECT_EQ(cached(), 0);  // the last scope's end empties the cache
  large(20);
  EXPECT_EQ(cached(), 20);  // outside any scope blocks are kept up to the bound again
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
