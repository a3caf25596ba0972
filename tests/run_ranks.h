#pragma once
// Ranks as threads of the test process: fn(world) runs on `ranks` threads joined into one world
// over an in-memory store and real Gloo process groups on loopback; the first failure is rethrown.
#include <chrono>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "osp/parallel/world.h"

namespace osp::test {

inline void run_ranks(int ranks, const std::function<void(parallel::World&)>& fn,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(30000)) {
  auto rendezvous = parallel::World::in_process_rendezvous();
  std::vector<std::thread> threads;
  std::exception_ptr failure;
  std::mutex mutex;
  for (int r = 0; r < ranks; ++r) {
    threads.emplace_back([&, r] {
      try {
        auto world = parallel::World::join(rendezvous, r, ranks, timeout);
        fn(*world);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!failure) failure = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace osp::test
