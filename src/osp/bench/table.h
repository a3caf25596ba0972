#pragma once
// Plain-text tables for benchmark output: fixed columns, right-aligned figures, printed to stdout.
#include <chrono>
#include <string>
#include <vector>

namespace osp::bench {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void add_row(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

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
