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
  for (auto& t : trained) t->start_gather();
  for (auto& f : frozen) f->start_gather();
}

void FullySharded::Unit::gather() {
  for (auto& t : trained) t->gather();
  for (auto& f : frozen) f->gather();
}

void FullySharded::Unit::free() {
  for (auto& t : trained) t->free();
  for (auto& f : frozen) f->free();
}

FullySharded::FullySharded(dit::WanDiT& model, const NamedTensors& trained, Communicator group,
                           const std::map<std::string, at::ScalarType>& gather_dtypes,
                           const std::set<std::string>& values_later)
    : model_(model), group_(std::move(group)), runner_(*this) {
  const int64_t L = static_cast<int64_t>(model_.blocks.size());
  // Per unit, the trained tensors by the dtype they are gathered in.
  std::vector<std::map<at::ScalarType, NamedTensors>> trained_by_unit(static_cast<size_t>(L + 1));
  for (const auto& [name, t] : trained) {
    if (t.scalar_type() != at::kFloat) fail_about(name, "trained tensors must be float32 master weights");
    if (!t.requires_grad()) fail_about(name, "fully sharded training: trained tensors the objective freezes are not supported");
    const int64_t n = block_of(name);
    const auto wire = gather_dtypes.find(name);
    trained_by_unit[n >= 0 && n < L ? n : L][wire == gather_dtypes.end() ? at::kFloat : wire->second].emplace_back(name, t);
  }
  const auto frozen = frozen_by_unit(model_, trained);
  // A flat group's tensors are all model parameters or all adapters: their values come alike.
  const auto later = [&](const NamedTensors& tensors) { return values_later.count(tensors.front().first) != 0; };
  units_.resize(static_cast<size_t>(L + 1));
  for (size_t u = 0; u < units_.size(); ++u) {
    for (const auto& [wire, tensors] : trained_by_unit[u]) {
      units_[u].trained.push_back(std::make_unique<FlatShard>(tensors, group_, wire, later(tensors)));
      at::Tensor& shard = units_[u].trained.back()->shard();
      shard.requires_grad_(true);
      const std::string unit = u + 1 == units_.size() ? "shard.rest" : fmt::format("shard.blocks.{}", u);
      owned_.emplace_back(wire == at::kFloat ? unit : unit + "." + c10::toString(wire), shard);
      owned_shard_.push_back(units_[u].trained.back().get());
    }
    for (const auto& [dtype, tensors] : frozen[u]) {
      units_[u].frozen.push_back(std::make_unique<FlatShard>(tensors, group_, c10::nullopt, later(tensors)));
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
  for (auto& group : root().trained) {
    std::vector<at::Tensor> grads;
    for (const at::Tensor& t : group->tensors()) grads.push_back(t.grad());
    at::Tensor reduced = group->reduce_scatter_mean(grads);
    at::Tensor& shard = group->shard();
    if (shard.grad().defined()) shard.mutable_grad().add_(reduced); else shard.mutable_grad() = reduced;
    for (const at::Tensor& t : group->tensors()) {
      if (t.grad().defined()) t.mutable_grad() = at::Tensor();
    }
  }
  root().free();
}

void FullySharded::after_forward_only() { root().free(); }

void FullySharded::acquire(int64_t n, Pass pass) {
  units_[n].gather();
  const int64_t next = pass == Pass::kForward ? n + 1 : n - 1;
  if (next >= 0 && next < static_cast<int64_t>(model_.blocks.size())) units_[next].start_gather();
}

void FullySharded::release(int64_t n) { units_[n].free(); }

std::vector<at::Tensor> FullySharded::inputs(int64_t n) {
  std::vector<at::Tensor> out;
  for (auto& group : units_[n].trained) out.push_back(group->shard());
  return out;
}

std::vector<at::Tensor> FullySharded::trainable(int64_t n) {
  std::vector<at::Tensor> out;
  for (auto& group : units_[n].trained) out.insert(out.end(), group->tensors().begin(), group->tensors().end());
  return out;
}

std::vector<at::Tensor> FullySharded::input_grads(int64_t n, std::vector<at::Tensor> grads) {
  std::vector<at::Tensor> out;
  size_t offset = 0;
  for (auto& group : units_[n].trained) {
    const size_t count = group->tensors().size();
    out.push_back(group->reduce_scatter_mean({grads.begin() + offset, grads.begin() + offset + count}));
    offset += count;
  }
  return out;
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
    for (auto& item : owned_shard_[i]->unshard(owned_like[i])) out.push_back(std::move(item));
  }
  return out;
}

void FullySharded::reshard(const std::function<at::Tensor(const std::string&, at::IntArrayRef)>& whole,
                           const std::vector<at::Tensor>& owned_like) const {
  TORCH_CHECK(owned_like.size() == owned_.size(), "reshard: expected ", owned_.size(), " tensors");
  for (size_t i = 0; i < owned_.size(); ++i) owned_shard_[i]->reshard(whole, owned_like[i]);
}

std::vector<ShardLayout> FullySharded::shard_layout() const {
  std::vector<ShardLayout> out;
  for (size_t i = 0; i < owned_.size(); ++i) out.push_back(owned_shard_[i]->layout(owned_[i].first));
  return out;
}

int64_t FullySharded::shard_bytes() const {
  int64_t bytes = 0;
  for (const Unit& u : units_) {
    for (const auto& t : u.trained) bytes += static_cast<int64_t>(t->shard().nbytes());
    for (const auto& f : u.frozen) bytes += static_cast<int64_t>(f->shard().nbytes());
  }
  return bytes;
}

bool FullySharded::absorb(const std::string& name, const at::Tensor& values) {
  for (Unit& unit : units_) {
    for (auto& shard : unit.trained) {
      if (shard->absorb(name, values)) return true;
    }
    for (auto& shard : unit.frozen) {
      if (shard->absorb(name, values)) return true;
    }
  }
  return false;
}

int64_t FullySharded::model_bytes() const {
  int64_t bytes = 0;
  for (const Unit& u : units_) {
    for (const auto& t : u.trained) bytes += t->numel() * static_cast<int64_t>(c10::elementSize(t->dtype()));
    for (const auto& f : u.frozen) bytes += f->numel() * static_cast<int64_t>(c10::elementSize(f->dtype()));
  }
  return bytes;
}

std::string FullySharded::describe() const {
  return fmt::format("fully sharded data parallel over {} rank(s): {} units, {:.1f} of {:.1f} MiB of weights per rank",
                     group_.size(), units_.size(), shard_bytes() / 1048576.0, model_bytes() / 1048576.0);
}

}  // namespace osp::parallel
