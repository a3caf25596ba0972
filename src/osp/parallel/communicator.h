#pragma once
// A process group (c10d: Gloo on CPU, NCCL on CUDA builds) seen as the few collectives the engine
// needs, each with a timeout (a dead or stuck peer ends the call with osp::Error instead of a
// hang) and counted in CommCounters. A default-constructed Communicator is a group of one whose
// collectives are identities and count nothing.
#include <ATen/ATen.h>

#include <chrono>
#include <memory>
#include <vector>

#include "osp/parallel/comm_counters.h"

namespace osp::parallel {

struct Backend;  // the c10d process group (communicator.cpp)
class Communicator;

// An all-gather in flight (Communicator::all_gather_async): the caller computes while c10d's
// worker threads move the bytes, and wait() returns the gathered tensor.
class PendingGather {
 public:
  PendingGather() = default;
  bool pending() const { return work_ != nullptr || ready_.defined(); }
  // [S·n] in rank order (dim 0); counted in CommCounters when waited for.
  at::Tensor wait();

 private:
  friend class Communicator;
  const Communicator* comm_ = nullptr;
  std::shared_ptr<void> work_;  // the c10d work (kept opaque: c10d headers stay in two files)
  std::vector<at::Tensor> outputs_;
  at::ScalarType dtype_ = at::kFloat;
  at::Tensor ready_;  // a group of one: the input itself
  std::chrono::steady_clock::time_point start_;
};

class Communicator {
 public:
  Communicator() = default;
  Communicator(std::shared_ptr<Backend> backend, std::vector<int> global_ranks, int rank, CommCounters* counters);

  int size() const { return static_cast<int>(ranks_.empty() ? 1 : ranks_.size()); }
  int rank() const { return rank_; }  // rank inside this group
  // Global ranks of the members in group-rank order ({the caller} for a group of one).
  const std::vector<int>& global_ranks() const { return ranks_; }
  // Where this group's collectives are counted (nullptr: nowhere).
  CommCounters* counters() const { return counters_; }

  // x [S, ...] (S = size()): slice d goes to group rank d; returns [S, ...] whose slice s came from
  // group rank s (equal splits, one all_to_all_single).
  at::Tensor all_to_all(const at::Tensor& x) const;
  // x of the same shape on every rank, concatenated along `dim` in rank order.
  at::Tensor all_gather(const at::Tensor& x, int64_t dim) const;
  // x [n] of the same shape on every rank → [S·n] in rank order, started now and finished by
  // PendingGather::wait() (prefetching the next weights while this block computes).
  PendingGather all_gather_async(const at::Tensor& x) const;
  // Sums x (float or double) over the ranks in place; every rank gets the same bits.
  void all_reduce_sum(at::Tensor& x) const;
  // flat [S·c] → [c]: rank r receives the sum over ranks of their chunk r, added in rank order
  // (bitwise the same on every rank). Gloo in LibTorch 1.13 has no reduce_scatter, so this is one
  // all_to_all of the chunks and a local sum: the same (S−1)/S of the buffer leaves each rank as in
  // a ring reduce-scatter.
  at::Tensor reduce_scatter_sum(const at::Tensor& flat) const;
  // Every rank receives root's x (in place; x must have the same shape everywhere).
  void broadcast(at::Tensor& x, int root) const;
  void barrier() const;

 private:
  friend class PendingGather;
  // Counts one collective of `bytes_sent` bytes, `bytes_off_rank` of which leave this rank.
  void count(int64_t bytes_sent, int64_t bytes_off_rank, double seconds) const;

  std::shared_ptr<Backend> backend_;
  std::vector<int> ranks_;
  int rank_ = 0;
  CommCounters* counters_ = nullptr;
};

}  // namespace osp::parallel
