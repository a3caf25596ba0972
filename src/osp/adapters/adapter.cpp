#include "osp/adapters/adapter.h"

#include <ATen/core/grad_mode.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "osp/adapters/linear_layers.h"
#include "osp/core/error.h"

namespace osp::adapters {
namespace {

std::string shape_text(at::IntArrayRef shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

nn::LinearWeights& layer_of(std::map<std::string, nn::LinearWeights*>& layers, const Adapter::Entry& entry) {
  const auto it = layers.find(entry.module);
  if (it == layers.end()) {
    fail_about(entry.source_key, "the model has no linear layer {} (an adapter made for another architecture?)",
               entry.module);
  }
  return *it->second;
}

}  // namespace

Adapter::Adapter(const io::LoraFile& file, double user_scale) {
  for (const io::LoraModule& m : file.modules) {
    auto delta = std::make_shared<nn::LinearAdapter>();
    delta->down = m.down;
    delta->up = m.up;
    delta->diff = m.diff;
    delta->diff_b = m.diff_b;
    delta->scale = m.scale() * user_scale;
    entries_.push_back({m.module, m.source_key.empty() ? file.path : m.source_key, std::move(delta)});
  }
}

void Adapter::check_fits(torch::nn::Module& model) const {
  auto layers = linear_layers(model);
  for (const Entry& entry : entries_) {
    const nn::LinearWeights& layer = layer_of(layers, entry);
    check_entry_fits(entry, layer.out_features(), layer.in_features(), layer.bias.defined());
  }
}

void Adapter::attach(torch::nn::Module& model) {
  check_fits(model);
  auto layers = linear_layers(model);
  for (Entry& entry : entries_) {
    nn::LinearWeights& layer = layer_of(layers, entry);
    nn::LinearAdapter& d = *entry.delta;
    // The adapter's tensors live where the layer computes (a CUDA model gets CUDA adapters).
    const c10::Device device = layer.bias.defined() ? layer.bias.device() : layer.weight.device();
    for (at::Tensor* t : {&d.down, &d.up, &d.diff, &d.diff_b}) {
      if (t->defined() && t->device() != device) *t = t->to(device);
    }
    layer.adapters.push_back(entry.delta);
  }
}

void Adapter::detach(torch::nn::Module& model) {
  auto layers = linear_layers(model);
  for (const Entry& entry : entries_) {
    const auto it = layers.find(entry.module);
    if (it == layers.end()) continue;
    auto& list = it->second->adapters;
    list.erase(std::remove(list.begin(), list.end(), entry.delta), list.end());
  }
}

void Adapter::set_enabled(bool enabled) {
  for (Entry& entry : entries_) entry.delta->enabled = enabled;
}

void Adapter::merge_into(torch::nn::Module& model) const { apply_to_weights(model, 1.0); }
void Adapter::unmerge_from(torch::nn::Module& model) const { apply_to_weights(model, -1.0); }

void Adapter::apply_to_weights(torch::nn::Module& model, double sign) const {
  check_fits(model);
  auto layers = linear_layers(model);
  for (const Entry& entry : entries_) {
    const nn::LinearWeights& layer = layer_of(layers, entry);
    if (layer.quantized) {
      fail_about(entry.module, "holds 8-bit weights, which a LoRA cannot be merged into: use the runtime mode");
    }
    if (layer.weight.numel() == 0) fail_about(entry.module, "has no resident weight to merge into (sharded?)");
  }
  at::NoGradGuard no_grad;
  for (const Entry& entry : entries_) {
    nn::LinearWeights& layer = layer_of(layers, entry);
    nn::LinearAdapter signed_delta = *entry.delta;
    signed_delta.scale *= sign;
    layer.weight.copy_(merged_weight(layer.weight, {&signed_delta}));
    if (layer.bias.defined()) layer.bias.copy_(merged_bias(layer.bias, {&signed_delta}));
  }
}

int64_t Adapter::parameter_count() const {
  int64_t n = 0;
  for (const Entry& entry : entries_) {
    for (const at::Tensor* t : {&entry.delta->down, &entry.delta->up, &entry.delta->diff, &entry.delta->diff_b}) {
      if (t->defined()) n += t->numel();
    }
  }
  return n;
}

void check_entry_fits(const Adapter::Entry& entry, int64_t out, int64_t in, bool has_bias) {
  const nn::LinearAdapter& d = *entry.delta;
  const auto mismatch = [&](const char* what, const at::Tensor& t, const std::string& expected) {
    fail_about(entry.source_key, "{} {} does not fit {} (a linear [{}, {}]): expected {}", what, shape_text(t.sizes()),
               entry.module, out, in, expected);
  };
  if (d.down.defined() && (d.down.dim() != 2 || d.down.size(1) != in)) {
    mismatch("lora A", d.down, fmt::format("[rank, {}]", in));
  }
  if (d.up.defined() && (d.up.dim() != 2 || d.up.size(0) != out || d.up.size(1) != d.down.size(0))) {
    mismatch("lora B", d.up, fmt::format("[{}, {}]", out, d.down.size(0)));
  }
  if (d.diff.defined() && (d.diff.dim() != 2 || d.diff.size(0) != out || d.diff.size(1) != in)) {
    mismatch("diff", d.diff, fmt::format("[{}, {}]", out, in));
  }
  if (d.diff_b.defined() && (d.diff_b.dim() != 1 || d.diff_b.size(0) != out)) {
    mismatch("diff_b", d.diff_b, fmt::format("[{}]", out));
  }
  if (d.diff_b.defined() && !has_bias) fail_about(entry.source_key, "{} has no bias to add diff_b to", entry.module);
}

at::Tensor weight_delta(const nn::LinearAdapter& d) {
  at::Tensor delta;
  if (d.down.defined()) delta = at::mm(d.up.to(at::kFloat), d.down.to(at::kFloat));
  if (d.diff.defined()) delta = delta.defined() ? delta + d.diff.to(at::kFloat) : d.diff.to(at::kFloat);
  return delta.defined() ? delta * d.scale : delta;
}

at::Tensor merged_weight(const at::Tensor& weight, const std::vector<const nn::LinearAdapter*>& deltas) {
  at::Tensor sum = weight.to(at::kFloat, /*non_blocking=*/false, /*copy=*/true);
  for (const nn::LinearAdapter* d : deltas) {
    const at::Tensor delta = weight_delta(*d);
    if (delta.defined()) sum.add_(delta.to(sum.device()));
  }
  return sum.to(weight.scalar_type());
}

at::Tensor merged_bias(const at::Tensor& bias, const std::vector<const nn::LinearAdapter*>& deltas) {
  at::Tensor sum = bias.to(at::kFloat, /*non_blocking=*/false, /*copy=*/true);
  for (const nn::LinearAdapter* d : deltas) {
    if (d->diff_b.defined()) sum.add_(d->diff_b.to(at::kFloat).to(sum.device()), d->scale);
  }
  return sum.to(bias.scalar_type());
}

}  // namespace osp::adapters
