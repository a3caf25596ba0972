#pragma once
// Progress of long work: on a TTY a redrawn bar with steps, s/it and ETA (at most 10 redraws a
// second); otherwise, once the work has run 2 s, a plain line at every tenth of it or every 10 s,
// whichever comes first, so logs stay readable in CI and batch jobs.
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
  bool due() const;
  void render();
  std::string label_;
  int64_t total_;
  int64_t done_ = 0;
  bool tty_;
  bool finished_ = false;
  int64_t last_rendered_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_render_time_;
};

}  // namespace osp
