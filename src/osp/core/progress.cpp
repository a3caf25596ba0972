#include "osp/core/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace osp {

Progress::Progress(std::string label, int64_t total)
    : label_(std::move(label)), total_(total), tty_(isatty(fileno(stderr)) != 0),
      start_(std::chrono::steady_clock::now()), last_render_time_(start_) {}

Progress::~Progress() { finish(); }

void Progress::step(int64_t n) {
  done_ += n;
  if (due()) render();
}

bool Progress::due() const {
  const auto now = std::chrono::steady_clock::now();
  // Plain lines (logs) only for work that lasts: a tensor load of 0.05 s printed ten lines before.
  constexpr double kQuietSeconds = 2.0;
  if (!tty_ && std::chrono::duration<double>(now - start_).count() < kQuietSeconds) return false;
  if (done_ >= total_) return true;
  double since = std::chrono::duration<double>(now - last_render_time_).count();
  if (tty_) return since >= 0.1;
  bool tenth_crossed = total_ > 0 && (done_ * 10 / total_) != (last_rendered_ * 10 / total_);
  return tenth_crossed || since >= 10.0;
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (tty_ && done_ > 0) std::fputc('\n', stderr);
}

void Progress::render() {
  last_rendered_ = done_;
  last_render_time_ = std::chrono::steady_clock::now();
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double per_step = done_ > 0 ? elapsed / static_cast<double>(done_) : 0.0;
  double eta = per_step * static_cast<double>(total_ - done_);
  std::string line = fmt::format("{} {}/{} | {:.2f} s/it | elapsed {:.1f} s | ETA {:.1f} s", label_, done_,
                                 total_, per_step, elapsed, eta);
  if (tty_) {
    int width = 30;
    int filled = total_ > 0 ? static_cast<int>(width * done_ / total_) : width;
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(static_cast<size_t>(width), '.');
    std::fprintf(stderr, "\r[%s] %s", bar.c_str(), line.c_str());
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

}  // namespace osp
