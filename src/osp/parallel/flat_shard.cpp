#include "osp/parallel/flat_shard.h"

#include <ATen/core/grad_mode.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>

#include "osp/core/error.h"

namespace osp::parallel {
namespace {

// set_ on parameters is an in-place change that autograd must not record; the tensors stay
// normal tensors (never inference tensors), whatever mode the caller runs in. The order matters:
// InferenceMode(false) turns grad mode back on, so NoGradGuard comes after it.
struct ParameterSurgery {
  c10::InferenceMode normal_tensors{false};
  at::NoGradGuard no_grad;
};

void empty_out(at::Tensor& t) { t.set_(at::empty({0}, t.options())); }

}  // namespace

FlatShard::FlatShard(const NamedTensors& tensors, const Communicator& group, c10::optional<at::ScalarType> gather_dtype,
                     bool values_later)
    : group_(group) {
  TORCH_CHECK(!tensors.empty(), "FlatShard: no tensors");
  gather_dtype_ = gather_dtype.value_or(tensors.front().second.scalar_type());
  ParameterSurgery surgery;
  for (const auto& [name, t] : tensors) {
    if (t.scalar_type() != tensors.front().second.scalar_type()) fail_about(name, "differs in dtype from its flat group");
    names_.push_back(name);
    tensors_.push_back(t);
    shapes_.push_back(t.sizes().vec());
    total_ += t.numel();
  }
  const int64_t N = group_.size();
  chunk_ = (total_ + N - 1) / N;
  if (values_later) {
    // No values yet: a zero shard (its padding stays zero); the unwritten tensors are freed unread.
    shard_ = at::zeros({chunk_}, tensors_.front().options().requires_grad(false));
    for (at::Tensor& t : tensors_) empty_out(t);
    return;
  }
  const at::Tensor flat = flatten(tensors_);
  shard_ = flat.narrow(0, group_.rank() * chunk_, chunk_).clone();
  for (at::Tensor& t : tensors_) empty_out(t);
}

bool FlatShard::absorb(const std::string& name, const at::Tensor& values) {
  int64_t offset = 0;
  for (size_t i = 0; i < names_.size(); ++i) {
    const int64_t numel = c10::multiply_integers(shapes_[i]);
    if (names_[i] != name) {
      offset += numel;
      continue;
    }
    TORCH_CHECK(values.numel() == numel, "absorb: ", name, " has ", values.numel(), " values, expected ", numel);
    // The overlap of [offset, offset + numel) with this rank's [first, first + chunk).
    const int64_t first = group_.rank() * chunk_;
    const int64_t from = std::max(offset, first), to = std::min(offset + numel, first + chunk_);
    at::NoGradGuard no_grad;
    if (from < to) shard_.narrow(0, from - first, to - from).copy_(values.reshape(-1).narrow(0, from - offset, to - from));
    return true;
  }
  return false;
}

at::Tensor FlatShard::flatten(const std::vector<at::Tensor>& parts) const {
  at::Tensor flat = at::zeros({chunk_ * group_.size()}, tensors_.front().options().requires_grad(false));
  int64_t offset = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const int64_t numel = c10::multiply_integers(shapes_[i]);
    if (parts[i].defined()) flat.narrow(0, offset, numel).copy_(parts[i].detach().reshape(-1));
    offset += numel;
  }
  return flat;
}

void FlatShard::point_into(const at::Tensor& flat) {
  ParameterSurgery surgery;
  int64_t offset = 0;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const at::Tensor view = flat.narrow(0, offset, c10::multiply_integers(shapes_[i])).view(shapes_[i]);
    tensors_[i].set_(view.storage(), view.storage_offset(), view.sizes(), view.strides());
    offset += view.numel();
  }
}

void FlatShard::start_gather() {
  if (gathered() || pending_.pending()) return;
  ParameterSurgery surgery;
  pending_ = group_.all_gather_async(shard_.detach().to(gather_dtype_));
}

void FlatShard::gather() {
  if (gathered()) return;
  ParameterSurgery surgery;  // the gathered buffer becomes parameter storage: a normal tensor
  start_gather();
  const SiteScope site(group_.counters(), CommSite::kWeights);  // counted as weight traffic inside any block
  full_ = pending_.wait().to(shard_.scalar_type());
  point_into(full_);
}

void FlatShard::free() {
  if (!gathered()) return;
  ParameterSurgery surgery;
  for (at::Tensor& t : tensors_) empty_out(t);
  full_ = at::Tensor();
}

at::Tensor FlatShard::reduce_scatter_mean(const std::vector<at::Tensor>& grads) const {
  TORCH_CHECK(grads.size() == tensors_.size(), "reduce_scatter_mean: expected ", tensors_.size(), " gradients");
  at::NoGradGuard no_grad;
  at::Tensor flat = flatten(grads);
  if (flat.scalar_type() != at::kFloat) flat = flat.to(at::kFloat);  // gradients are reduced in float32
  const SiteScope site(group_.counters(), CommSite::kWeights);
  return group_.reduce_scatter_sum(flat).div_(static_cast<double>(group_.size()));
}

ShardLayout FlatShard::layout(const std::string& shard) const {
  ShardLayout out{shard, chunk_, {}};
  for (size_t i = 0; i < names_.size(); ++i) out.tensors.emplace_back(names_[i], shapes_[i]);
  return out;
}

NamedTensors FlatShard::unshard(const at::Tensor& like_shard) const {
  TORCH_CHECK(like_shard.numel() == chunk_, "unshard: expected ", chunk_, " elements, got ", like_shard.numel());
  at::NoGradGuard no_grad;
  const at::Tensor flat = group_.all_gather(like_shard.detach().reshape(-1), 0);
  NamedTensors out;
  int64_t offset = 0;
  for (size_t i = 0; i < names_.size(); ++i) {
    const int64_t numel = c10::multiply_integers(shapes_[i]);
    out.emplace_back(names_[i], flat.narrow(0, offset, numel).view(shapes_[i]).clone());
    offset += numel;
  }
  return out;
}

void FlatShard::reshard(const std::function<at::Tensor(const std::string&, at::IntArrayRef)>& whole,
                        at::Tensor like_shard) const {
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> parts;
  for (size_t i = 0; i < names_.size(); ++i) parts.push_back(whole(names_[i], shapes_[i]));
  like_shard.copy_(flatten(parts).narrow(0, group_.rank() * chunk_, chunk_));
}

}  // namespace osp::parallel
