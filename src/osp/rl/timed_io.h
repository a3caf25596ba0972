#pragma once
// Reading and writing a pipe or a socket against a deadline, for the external reward scorers
// (docs/rl-rewards.md): every wait is a poll() bounded by the request's deadline, so a scorer that
// stops answering costs at most its timeout, never a hang. The descriptors must be non-blocking.
// Failures throw osp::Error naming `subject` (the scorer).
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace osp::rl {

// The end of one request's time budget.
class Deadline {
 public:
  explicit Deadline(double seconds);
  // Milliseconds left, for poll(): 0 once passed.
  int poll_ms() const;
  bool passed() const;
  double seconds() const { return seconds_; }

 private:
  std::chrono::steady_clock::time_point end_;
  double seconds_;
};

// Writes all of `bytes` to `fd`. A reader that has gone away is an osp::Error here (EPIPE), not the
// death of this process by SIGPIPE: the signal is blocked in the calling thread around the write
// and a SIGPIPE it raised is consumed, so the process-wide disposition is left as it is.
void write_all(int fd, std::string_view bytes, const Deadline& deadline, const std::string& subject);

// Buffered reads from one descriptor.
class TimedReader {
 public:
  TimedReader(int fd, std::string subject) : fd_(fd), subject_(std::move(subject)) {}

  // The bytes before the next `delimiter` (which is consumed), or nullopt when the stream ends
  // first. osp::Error when more than `max_bytes` come without a delimiter or the deadline passes.
  std::optional<std::string> read_until(std::string_view delimiter, std::size_t max_bytes, const Deadline& deadline);
  // Exactly `n` bytes; osp::Error when the stream ends before them.
  std::string read_exactly(std::size_t n, const Deadline& deadline);
  // Everything up to the end of the stream; osp::Error beyond `max_bytes`.
  std::string read_to_end(std::size_t max_bytes, const Deadline& deadline);

 private:
  // Appends what the descriptor has, waiting for it until the deadline; false at the end of the stream.
  bool fill(const Deadline& deadline);

  int fd_;
  std::string subject_;
  std::string buffer_;
};

}  // namespace osp::rl
