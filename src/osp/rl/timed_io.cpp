#include "osp/rl/timed_io.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "osp/core/error.h"

namespace osp::rl {
namespace {

// Blocks SIGPIPE in this thread for its lifetime; a SIGPIPE raised meanwhile (by a write to a
// closed pipe or socket) is consumed before the old mask comes back, unless one was already pending.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_mask_);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~SigpipeBlock() {
    if (!was_pending_) {
      const timespec zero{};
      while (sigtimedwait(&pipe_, nullptr, &zero) == SIGPIPE) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t pipe_;
  sigset_t old_mask_;
  bool was_pending_ = false;
};

// Waits until `fd` is ready for `events`; osp::Error when the deadline passes first.
void wait_for(int fd, short events, const Deadline& deadline, const std::string& subject) {
  for (;;) {
    pollfd entry{fd, events, 0};
    const int ready = poll(&entry, 1, deadline.poll_ms());
    if (ready > 0) return;
    if (ready == 0) fail_about(subject, "no answer within {} s (the timeout)", deadline.seconds());
    if (errno != EINTR) fail_about(subject, "poll failed: {}", std::strerror(errno));
  }
}

bool would_block(int error) { return error == EAGAIN || error == EWOULDBLOCK || error == EINTR; }

}  // namespace

Deadline::Deadline(double seconds)
    : end_(std::chrono::steady_clock::now() +
           std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds))),
      seconds_(seconds) {}

int Deadline::poll_ms() const {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end_ - std::chrono::steady_clock::now());
  // Rounded up, so that poll never returns early with time still left.
  return static_cast<int>(std::clamp<long long>(left.count() + 1, 0, 1 << 30));
}

bool Deadline::passed() const { return std::chrono::steady_clock::now() >= end_; }

void write_all(int fd, std::string_view bytes, const Deadline& deadline, const std::string& subject) {
  SigpipeBlock block;
  while (!bytes.empty()) {
    wait_for(fd, POLLOUT, deadline, subject);
    const ssize_t written = write(fd, bytes.data(), bytes.size());
    if (written < 0 && would_block(errno)) continue;
    if (written < 0 && errno == EPIPE) fail_about(subject, "stopped reading its input");
    if (written < 0) fail_about(subject, "write failed: {}", std::strerror(errno));
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
}

bool TimedReader::fill(const Deadline& deadline) {
  char chunk[65536];
  for (;;) {
    wait_for(fd_, POLLIN, deadline, subject_);
    const ssize_t got = read(fd_, chunk, sizeof(chunk));
    if (got < 0 && would_block(errno)) continue;
    if (got < 0 && errno == ECONNRESET) return false;
    if (got < 0) fail_about(subject_, "read failed: {}", std::strerror(errno));
    buffer_.append(chunk, static_cast<std::size_t>(got));
    return got > 0;
  }
}

std::optional<std::string> TimedReader::read_until(std::string_view delimiter, std::size_t max_bytes,
                                                   const Deadline& deadline) {
  std::size_t searched = 0;
  for (;;) {
    const std::size_t at = buffer_.find(delimiter, searched);
    if (at != std::string::npos && at <= max_bytes) {
      std::string before = buffer_.substr(0, at);
      buffer_.erase(0, at + delimiter.size());
      return before;
    }
    if (buffer_.size() > max_bytes + delimiter.size()) {
      fail_about(subject_, "answered more than {} bytes without an end", max_bytes);
    }
    // The delimiter may straddle the next chunk: search again from its longest possible prefix.
    searched = buffer_.size() >= delimiter.size() ? buffer_.size() - delimiter.size() + 1 : 0;
    if (!fill(deadline)) return std::nullopt;
  }
}

std::string TimedReader::read_exactly(std::size_t n, const Deadline& deadline) {
  while (buffer_.size() < n) {
    if (!fill(deadline)) fail_about(subject_, "answer ended after {} of {} bytes", buffer_.size(), n);
  }
  std::string out = buffer_.substr(0, n);
  buffer_.erase(0, n);
  return out;
}

std::string TimedReader::read_to_end(std::size_t max_bytes, const Deadline& deadline) {
  while (fill(deadline)) {
    if (buffer_.size() > max_bytes) fail_about(subject_, "answered more than {} bytes", max_bytes);
  }
  return std::exchange(buffer_, {});
}

}  // namespace osp::rl
