#pragma once
// Reading a model group by group from a mapped checkpoint while it computes (docs/memory.md
// "Block streaming"): group n's tensors are read when the model reaches it — or were already read
// on a background thread while group n − 1 computed — and the next group's read starts at once
// (after the last group: group 0, for the next call). The model decides what a group is and what
// to do with its tensors (dit/block_streamer.h: DiT blocks; t5/layer_streamer.h: umT5 layers);
// this class owns the thread, the timing and the check that the files did not change on disk.
#include <c10/core/InferenceMode.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <string>
#include <utility>
#include <vector>

#include "osp/io/tensor_source.h"

namespace osp::io {

struct StreamStats {
  int64_t groups_read = 0;
  int64_t bytes_read = 0;     // checkpoint bytes of the tensors read (added by the model)
  double read_seconds = 0;    // spent reading (on the prefetch thread or inline)
  double wait_seconds = 0;    // the computation waited for a group (inline reads included)
};

// The files behind a source with their size and modification time when first seen.
class FileStamps {
 public:
  explicit FileStamps(const TensorSource& source);
  // osp::Error naming the file when one changed on disk (size or modification time).
  void check() const;

 private:
  struct Stamp {
    std::string path;
    int64_t size = 0, mtime_ns = 0;
  };
  static Stamp stamp_of(const std::string& path);
  std::vector<Stamp> files_;
};

template <typename Staged>
class StreamedGroups {
 public:
  // `read(n)` reads group n (thread-safe: it touches the file only); it runs in plain tensor mode
  // (not inference mode) so that its tensors can become parameters.
  StreamedGroups(const TensorSource& source, int64_t groups, bool prefetch, std::function<Staged(int64_t)> read)
      : stamps_(source), groups_(groups), prefetch_(prefetch), read_(std::move(read)) {}
  ~StreamedGroups() {
    if (pending_.valid()) pending_.wait();
  }
  StreamedGroups(const StreamedGroups&) = delete;
  StreamedGroups& operator=(const StreamedGroups&) = delete;

  // Group n's values (waiting for the prefetch when it is n's), then starts reading group n + 1.
  Staged take(int64_t n) {
    const auto start = std::chrono::steady_clock::now();
    stamps_.check();
    std::pair<int64_t, Timed> ready{-1, {}};
    if (pending_.valid()) ready = pending_.get();  // rethrows a read error of the prefetch thread
    if (ready.first != n) ready = {n, timed_read(n)};
    stats_.read_seconds += ready.second.seconds;
    ++stats_.groups_read;
    stats_.wait_seconds += seconds_since(start);
    if (prefetch_) {
      const int64_t next = (n + 1) % groups_;
      pending_ = std::async(std::launch::async, [this, next] { return std::pair<int64_t, Timed>{next, timed_read(next)}; });
    }
    return std::move(ready.second.values);
  }

  StreamStats& stats() { return stats_; }
  const StreamStats& stats() const { return stats_; }

 private:
  struct Timed {
    Staged values;
    double seconds = 0;
  };
  static double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  Timed timed_read(int64_t n) const {
    c10::InferenceMode plain_tensors(false);
    const auto start = std::chrono::steady_clock::now();
    Timed out{read_(n)};
    out.seconds = seconds_since(start);
    return out;
  }

  FileStamps stamps_;
  int64_t groups_;
  bool prefetch_;
  std::function<Staged(int64_t)> read_;
  std::future<std::pair<int64_t, Timed>> pending_;
  StreamStats stats_;
};

}  // namespace osp::io
