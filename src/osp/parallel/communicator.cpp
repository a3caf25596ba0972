#include "osp/parallel/communicator.h"

#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>

#include <chrono>
#include <utility>

#include "osp/core/error.h"
#include "osp/parallel/c10d_backend.h"

namespace osp::parallel {
namespace {

using Clock = std::chrono::steady_clock;

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// Waits for a collective with the group's timeout; a failed or timed-out peer becomes osp::Error.
void wait_for(const c10::intrusive_ptr<c10d::Work>& work, const Backend& backend, const char* what,
          const std::vector<int>& ranks) {
  try {
    work->wait(backend.timeout);
  } catch (const std::exception& e) {
    const std::string message =
        dynamic_cast<const c10::Error*>(&e) ? static_cast<const c10::Error&>(e).what_without_backtrace() : e.what();
    fail("{} over ranks {} failed (a peer rank exited or did not answer within {} s): {}", what,
         fmt::format("{}", fmt::join(ranks, ",")), backend.timeout.count() / 1000.0, first_line(message));
  }
}

double since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Gloo has no bfloat16 kernels in LibTorch 1.13; these collectives only move bytes, so bfloat16
// and half travel as uint8 of the same bits (last dimension doubled).
at::Tensor as_wire(const at::Tensor& x) {
  return x.scalar_type() == at::kBFloat16 || x.scalar_type() == at::kHalf ? x.view(at::kByte) : x;
}

// Buffers that c10d's worker threads write into must be normal tensors: those threads run outside
// InferenceMode, where writing an inference tensor in place is refused.
at::Tensor empty_buffer(const at::Tensor& like) {
  c10::InferenceMode normal_tensors(false);
  return at::empty_like(like);
}

// The c10d work of an asynchronous collective, behind PendingGather's opaque pointer.
struct WorkHolder {
  c10::intrusive_ptr<c10d::Work> work;
};

}  // namespace

Communicator::Communicator(std::shared_ptr<Backend> backend, std::vector<int> global_ranks, int rank,
                           CommCounters* counters)
    : backend_(std::move(backend)), ranks_(std::move(global_ranks)), rank_(rank), counters_(counters) {}

void Communicator::count(int64_t bytes_sent, int64_t bytes_off_rank, double seconds) const {
  if (counters_) counters_->record(bytes_sent, bytes_off_rank, seconds);
}

at::Tensor Communicator::all_to_all(const at::Tensor& x) const {
  const int S = size();
  TORCH_CHECK(x.dim() >= 1 && x.size(0) == S, "all_to_all: expected [", S, ", ...], got ", x.sizes());
  if (S == 1 || !backend_) return x;
  const auto start = Clock::now();
  at::Tensor in = as_wire(x.contiguous());
  at::Tensor out = empty_buffer(in);
  std::vector<int64_t> equal_splits;  // empty: equal splits along dim 0
  auto work = backend_->call([&](auto& group) {
    return group.alltoall_base(out, in, equal_splits, equal_splits, c10d::AllToAllOptions());
  });
  wait_for(work, *backend_, "all_to_all", ranks_);
  const int64_t bytes = static_cast<int64_t>(in.nbytes());
  count(bytes, bytes / S * (S - 1), since(start));
  return out.view(x.scalar_type());
}

at::Tensor Communicator::all_gather(const at::Tensor& x, int64_t dim) const {
  const int S = size();
  if (S == 1 || !backend_) return x;
  const auto start = Clock::now();
  std::vector<at::Tensor> inputs{as_wire(x.contiguous())};
  std::vector<std::vector<at::Tensor>> outputs(1);
  for (int r = 0; r < S; ++r) outputs[0].push_back(empty_buffer(inputs[0]));
  auto work = backend_->call([&](auto& group) { return group.allgather(outputs, inputs, c10d::AllgatherOptions()); });
  wait_for(work, *backend_, "all_gather", ranks_);
  const int64_t bytes = static_cast<int64_t>(inputs[0].nbytes());
  count(bytes, bytes * (S - 1), since(start));
  return at::cat(outputs[0], dim).view(x.scalar_type());
}

PendingGather Communicator::all_gather_async(const at::Tensor& x) const {
  PendingGather pending;
  pending.comm_ = this;
  pending.dtype_ = x.scalar_type();
  if (size() == 1 || !backend_) {
    pending.ready_ = x;
    return pending;
  }
  pending.start_ = Clock::now();
  std::vector<at::Tensor> inputs{as_wire(x.contiguous().reshape(-1))};
  std::vector<std::vector<at::Tensor>> outputs(1);
  for (int r = 0; r < size(); ++r) outputs[0].push_back(empty_buffer(inputs[0]));
  auto holder = std::make_shared<WorkHolder>();
  holder->work = backend_->call([&](auto& group) { return group.allgather(outputs, inputs, c10d::AllgatherOptions()); });
  pending.work_ = holder;
  pending.outputs_ = std::move(outputs[0]);
  return pending;
}

at::Tensor PendingGather::wait() {
  TORCH_CHECK(pending(), "PendingGather::wait: nothing in flight");
  if (ready_.defined()) return std::exchange(ready_, at::Tensor()).reshape(-1);
  const auto holder = std::static_pointer_cast<WorkHolder>(std::exchange(work_, nullptr));
  wait_for(holder->work, *comm_->backend_, "all_gather", comm_->ranks_);
  const int64_t bytes = static_cast<int64_t>(outputs_.front().nbytes());
  comm_->count(bytes, bytes * (comm_->size() - 1), since(start_));
  return at::cat(std::exchange(outputs_, {}), 0).view(dtype_);
}

void Communicator::all_reduce_sum(at::Tensor& x) const {
  if (size() == 1 || !backend_) return;
  TORCH_CHECK(x.is_contiguous() && (x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble),
              "all_reduce_sum: expected a contiguous float or double tensor");
  const auto start = Clock::now();
  std::vector<at::Tensor> tensors{empty_buffer(x)};
  tensors[0].copy_(x);
  auto work = backend_->call([&](auto& group) { return group.allreduce(tensors, c10d::AllreduceOptions()); });
  wait_for(work, *backend_, "all_reduce", ranks_);
  x.copy_(tensors[0]);
  // A ring all-reduce: each rank sends 2·(S−1)/S of the buffer.
  const int64_t bytes = static_cast<int64_t>(x.nbytes());
  count(bytes, 2 * bytes / size() * (size() - 1), since(start));
}

at::Tensor Communicator::reduce_scatter_sum(const at::Tensor& flat) const {
  const int S = size();
  TORCH_CHECK(flat.dim() == 1 && flat.size(0) % S == 0, "reduce_scatter_sum: expected [S·c], got ", flat.sizes());
  if (S == 1 || !backend_) return flat;
  // Chunk d goes to rank d; what comes back is every rank's chunk `rank()`, summed in rank order.
  return all_to_all(flat.view({S, -1})).sum(0);
}

void Communicator::broadcast(at::Tensor& x, int root) const {
  const int S = size();
  if (S == 1 || !backend_) return;
  TORCH_CHECK(x.is_contiguous(), "broadcast: expected a contiguous tensor");
  const auto start = Clock::now();
  at::Tensor buffer = empty_buffer(x);
  buffer.copy_(x);
  std::vector<at::Tensor> tensors{as_wire(buffer)};
  c10d::BroadcastOptions options;
  options.rootRank = root;
  auto work = backend_->call([&](auto& group) { return group.broadcast(tensors, options); });
  wait_for(work, *backend_, "broadcast", ranks_);
  x.copy_(buffer);
  const int64_t bytes = rank_ == root ? static_cast<int64_t>(x.nbytes()) : 0;
  count(bytes, bytes * (S - 1), since(start));
}

void Communicator::barrier() const {
  if (size() == 1 || !backend_) return;
  auto work = backend_->call([&](auto& group) { return group.barrier(c10d::BarrierOptions()); });
  wait_for(work, *backend_, "barrier", ranks_);
}

}  // namespace osp::parallel
