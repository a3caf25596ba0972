#pragma once
// Progress of long work: on a TTY a redrawn bar with steps, s/it and ETA; otherwise one plain line
// per step, so logs stay readable in CI and batch jobs.
#include <chrono>
#include <cstdint>
#include <string>

namespace osp {

class Progress {
 public:
  Progress(std::string label, int64_t total);
  ~Progress();
  void step(int64_t n = 1);
  void finish();

 private:
  void render();
  std::string label_;
  int64_t total_;
  int64_t done_ = 0;
  bool tty_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace osp
