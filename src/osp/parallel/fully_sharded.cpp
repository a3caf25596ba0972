#include "osp/parallel/fully_sharded.h"

#include <ATen/core/grad_mode.h>
#include <fmt/format.h>

#include <cmath>
#include <map>
#include <set>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "osp/core/error.h"

namespace osp::parallel {
namespace {

// The model's parameters that `trained` does not hold, per unit (blocks, then the rest), by dtype.
std::vector<std::map<at::ScalarType, NamedTensors>> frozen_by_unit(dit::WanDiT& model, const NamedTensors& trained) {
  std::set<const c10::TensorImpl*> is_trained;
  for (const auto& item : trained) is_trained.insert(item.second.unsafeGetTensorImpl());
  const int64_t L = static_cast<int64_t>(model.blocks.size());
  std::vector<std::map<at::ScalarType, NamedTensors>> out(static_cast<size_t>(L + 1));
  for (const auto& item : model.named_parameters()) {
    if (is_trained.count(item.value().unsafeGetTensorImpl()) || item.value().numel() == 0) continue;
    const int64_t n = block_of(item.key());
    out[n >= 0 ? n : L][item.value().scalar_type()].emplace_back(item.key(), item.value());
  }
  return out;
}

}  // namespace

void FullySharded::Unit::start_gather() {
  if (trained) trained->start_gather();
  for (auto& f : frozen) f->start_gather();
}

void FullySharded::Unit::gather() {
  if (trained) trained->gather();
  for (auto& f : frozen) f->gather();
}

void FullySharded::Unit::free() {
  if (trained) trained->free();
  for (auto& f : frozen) f->free();
}

FullySharded::FullySharded(dit::WanDiT& model, const NamedTensors& trained, Communicator group)
    : model_(model), group_(std::move(group)), runner_(*this) {
  const int64_t L = static_cast<int64_t>(model_.blocks.size());
  std::vector<NamedTensors> trained_by_unit(static_cast<size_t>(L + 1));
  for (const auto& [name, t] : trained) {
    if (t.scalar_type() != at::kFloat) fail_about(name, "trained tensors must be float32 master weights");
    if (!t.requires_grad()) fail_about(name, "fully sharded training: trained tensors the objective freezes are not supported");
    const int64_t n = block_of(name);
    trained_by_unit[n >= 0 && n < L ? n : L].emplace_back(name, t);
  }
  const auto frozen = frozen_by_unit(model_, trained);
  units_.resize(static_cast<size_t>(L + 1));
  for (size_t u = 0; u < units_.size(); ++u) {
    if (!trained_by_unit[u].empty()) {
      units_[u].trained = std::make_unique<FlatShard>(trained_by_unit[u], group_);
      at::Tensor& shard = units_[u].trained->shard();
      shard.requires_grad_(true);
      owned_.emplace_back(u + 1 == units_.size() ? "shard.rest" : fmt::format("shard.blocks.{}", u), shard);
      owned_unit_.push_back(u);
    }
    for (const auto& [dtype, tensors] : frozen[u]) {
      units_[u].frozen.push_back(std::make_unique<FlatShard>(tensors, group_));
    }
  }
  // glibc keeps large freed blocks in its heap after the mmap threshold grew; give the freed
  // whole parameters back so that the rank's resident memory really falls to its shards.
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
  model_.set_block_runner(&runner_);
}

FullySharded::~FullySharded() { model_.set_block_runner(nullptr); }

void FullySharded::zero_grad() {
  for (auto& item : owned_) {
    if (item.second.grad().defined()) item.second.mutable_grad() = at::Tensor();
  }
}

void FullySharded::before_forward() {
  root().gather();
  if (!model_.blocks.empty()) units_.front().start_gather();
}

void FullySharded::after_backward() {
  Unit& rest = root();
  if (rest.trained) {
    std::vector<at::Tensor> grads;
    for (const at::Tensor& t : rest.trained->tensors()) grads.push_back(t.grad());
    at::Tensor reduced = rest.trained->reduce_scatter_mean(grads);
    at::Tensor& shard = rest.trained->shard();
    if (shard.grad().defined()) shard.mutable_grad().add_(reduced); else shard.mutable_grad() = reduced;
    for (const at::Tensor& t : rest.trained->tensors()) {
      if (t.grad().defined()) t.mutable_grad() = at::Tensor();
    }
  }
  rest.free();
}

void FullySharded::acquire(int64_t n, Pass pass) {
  units_[n].gather();
  const int64_t next = pass == Pass::kForward ? n + 1 : n - 1;
  if (next >= 0 && next < static_cast<int64_t>(model_.blocks.size())) units_[next].start_gather();
}

void FullySharded::release(int64_t n) { units_[n].free(); }

std::vector<at::Tensor> FullySharded::inputs(int64_t n) {
  if (!units_[n].trained) return {};
  return {units_[n].trained->shard()};
}

std::vector<at::Tensor> FullySharded::trainable(int64_t n) {
  if (!units_[n].trained) return {};
  return units_[n].trained->tensors();
}

std::vector<at::Tensor> FullySharded::input_grads(int64_t n, std::vector<at::Tensor> grads) {
  if (!units_[n].trained) return {};
  return {units_[n].trained->reduce_scatter_mean(grads)};
}

double FullySharded::synchronize(double loss) {
  at::Tensor mean = at::full({1}, loss, at::kDouble);
  group_.all_reduce_sum(mean);
  return mean.item<double>() / static_cast<double>(group_.size());
}

double FullySharded::global_grad_norm() const {
  // Each rank holds a disjoint part of the gradient: the squares add up over the ranks.
  at::Tensor squares = at::full({1}, grad_squares(owned_), at::kDouble);
  group_.all_reduce_sum(squares);
  return std::sqrt(squares.item<double>());
}

NamedTensors FullySharded::unshard(const std::vector<at::Tensor>& owned_like) const {
  TORCH_CHECK(owned_like.size() == owned_.size(), "unshard: expected ", owned_.size(), " tensors");
  NamedTensors out;
  for (size_t i = 0; i < owned_.size(); ++i) {
    for (auto& item : units_[owned_unit_[i]].trained->unshard(owned_like[i])) out.push_back(std::move(item));
  }
  return out;
}

void FullySharded::reshard(const std::function<at::Tensor(const std::string&, at::IntArrayRef)>& whole,
                           const std::vector<at::Tensor>& owned_like) const {
  TORCH_CHECK(owned_like.size() == owned_.size(), "reshard: expected ", owned_.size(), " tensors");
  for (size_t i = 0; i < owned_.size(); ++i) units_[owned_unit_[i]].trained->reshard(whole, owned_like[i]);
}

std::vector<ShardLayout> FullySharded::shard_layout() const {
  std::vector<ShardLayout> out;
  for (size_t i = 0; i < owned_.size(); ++i) out.push_back(units_[owned_unit_[i]].trained->layout(owned_[i].first));
  return out;
}

int64_t FullySharded::shard_bytes() const {
  int64_t bytes = 0;
  for (const Unit& u : units_) {
    if (u.trained) bytes += static_cast<int64_t>(u.trained->shard().nbytes());
    for (const auto& f : u.frozen) bytes += static_cast<int64_t>(f->shard().nbytes());
  }
  return bytes;
}

int64_t FullySharded::model_bytes() const {
  int64_t bytes = 0;
  for (const Unit& u : units_) {
    if (u.trained) bytes += u.trained->numel() * static_cast<int64_t>(c10::elementSize(u.trained->dtype()));
    for (const auto& f : u.frozen) bytes += f->numel() * static_cast<int64_t>(c10::elementSize(f->dtype()));
  }
  return bytes;
}

std::string FullySharded::describe() const {
  return fmt::format("fully sharded data parallel over {} rank(s): {} units, {:.1f} of {:.1f} MiB of weights per rank",
                     group_.size(), units_.size(), shard_bytes() / 1048576.0, model_bytes() / 1048576.0);
}

}  // namespace osp::parallel
