#include "osp/parallel/replicated_data_parallel.h"

#include <ATen/core/grad_mode.h>
#include <fmt/format.h>

#include <cmath>

#include "osp/core/error.h"

namespace osp::parallel {
namespace {

// Consecutive trainable tensors grouped until a group reaches `bucket_bytes` (a tensor larger than
// that is a bucket of its own).
std::vector<std::vector<size_t>> make_buckets(const NamedTensors& params, int64_t bucket_bytes) {
  std::vector<std::vector<size_t>> buckets(1);
  int64_t filled = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    const at::Tensor& p = params[i].second;
    if (!p.requires_grad()) continue;
    const int64_t bytes = p.numel() * static_cast<int64_t>(sizeof(float));
    if (filled + bytes > bucket_bytes && !buckets.back().empty()) {
      buckets.emplace_back();
      filled = 0;
    }
    buckets.back().push_back(i);
    filled += bytes;
  }
  return buckets;  // a single empty bucket when nothing is trainable: the loss still travels
}

}  // namespace

ReplicatedDataParallel::ReplicatedDataParallel(NamedTensors params, Communicator group, int64_t bucket_bytes)
    : params_(std::move(params)), group_(std::move(group)) {
  if (bucket_bytes < 1) fail("replicated data parallel: the bucket size must be positive, got {}", bucket_bytes);
  for (const auto& [name, p] : params_) {
    if (p.scalar_type() != at::kFloat) fail_about(name, "trained tensors must be float32 master weights");
  }
  buckets_ = make_buckets(params_, bucket_bytes);
}

void ReplicatedDataParallel::zero_grad() {
  for (auto& item : params_) {
    if (item.second.grad().defined()) item.second.mutable_grad() = at::Tensor();
  }
}

std::vector<double> ReplicatedDataParallel::all_reduce_bucket(const std::vector<size_t>& bucket,
                                                              const std::vector<double>& extra) {
  at::NoGradGuard no_grad;
  int64_t total = static_cast<int64_t>(extra.size());
  for (size_t i : bucket) total += params_[i].second.numel();
  at::Tensor flat = at::empty({total}, at::kFloat);
  int64_t offset = 0;
  for (size_t i : bucket) {
    const at::Tensor& p = params_[i].second;
    at::Tensor slot = flat.narrow(0, offset, p.numel());
    // A parameter this rank's micro-batches did not reach contributes zeros (another rank's may).
    if (p.grad().defined()) slot.copy_(p.grad().reshape(-1)); else slot.zero_();
    offset += p.numel();
  }
  for (size_t e = 0; e < extra.size(); ++e) flat[offset + static_cast<int64_t>(e)] = extra[e];
  group_.all_reduce_sum(flat);
  flat.div_(static_cast<double>(group_.size()));
  offset = 0;
  for (size_t i : bucket) {
    at::Tensor p = params_[i].second;
    const at::Tensor mean = flat.narrow(0, offset, p.numel()).view_as(p);
    if (p.grad().defined()) p.mutable_grad().copy_(mean); else p.mutable_grad() = mean.clone();
    offset += p.numel();
  }
  std::vector<double> out;
  for (size_t e = 0; e < extra.size(); ++e) out.push_back(flat[offset + static_cast<int64_t>(e)].item<double>());
  return out;
}

double ReplicatedDataParallel::synchronize(double loss) {
  if (group_.size() == 1) return loss;
  double mean = loss;
  for (size_t b = 0; b < buckets_.size(); ++b) {
    const bool last = b + 1 == buckets_.size();
    const std::vector<double> extra = all_reduce_bucket(buckets_[b], last ? std::vector<double>{loss} : std::vector<double>{});
    if (last) mean = extra.front();
  }
  return mean;
}

double ReplicatedDataParallel::global_grad_norm() const {
  // The averaged gradients are the same bits on every rank: the local norm is the global one.
  return std::sqrt(grad_squares(params_));
}

NamedTensors ReplicatedDataParallel::unshard(const std::vector<at::Tensor>& owned_like) const {
  TORCH_CHECK(owned_like.size() == params_.size(), "unshard: expected ", params_.size(), " tensors");
  NamedTensors out;
  for (size_t i = 0; i < params_.size(); ++i) out.emplace_back(params_[i].first, owned_like[i]);
  return out;
}

void ReplicatedDataParallel::reshard(const std::function<at::Tensor(const std::string&, at::IntArrayRef)>& whole,
                                     const std::vector<at::Tensor>& owned_like) const {
  TORCH_CHECK(owned_like.size() == params_.size(), "reshard: expected ", params_.size(), " tensors");
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    at::Tensor into = owned_like[i];
    into.copy_(whole(params_[i].first, into.sizes()));
  }
}

std::string ReplicatedDataParallel::describe() const {
  return fmt::format("replicated data parallel over {} rank(s), gradients in {} all-reduce bucket(s)", group_.size(),
                     buckets_.size());
}

}  // namespace osp::parallel
