#pragma once
// Wall-clock timing of a callable, for the benchmark tables.
#include <chrono>

namespace osp::bench {

// Seconds one call of `fn` takes.
template <typename Fn>
double time_once_seconds(Fn&& fn) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Runs `fn` once to warm up, then `reps` times; returns the mean seconds of the timed runs.
template <typename Fn>
double time_mean_seconds(int reps, Fn&& fn) {
  fn();
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / (reps > 0 ? reps : 1);
}

}  // namespace osp::bench
