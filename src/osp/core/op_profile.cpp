#include "osp/core/op_profile.h"

#include <atomic>
#include <mutex>

namespace osp::profile {
namespace {

std::atomic<bool> g_enabled{false};
std::mutex g_mutex;
OpTotals g_totals;
thread_local Scope* t_innermost = nullptr;

}  // namespace

std::string op_kind_name(OpKind kind) {
  switch (kind) {
    case OpKind::kGemm:
      return "GEMM (linear layers)";
    case OpKind::kAttention:
      return "attention kernels";
    case OpKind::kNorm:
      return "norms, modulation, residual adds";
    case OpKind::kRope:
      return "RoPE";
    case OpKind::kActivation:
      return "GELU / SiLU";
    case OpKind::kCast:
      return "bf16 casts of GEMM operands";
    case OpKind::kLayout:
      return "layout copies (Skiparse, padding)";
    case OpKind::kCount:
      break;
  }
  return "unknown";
}

void set_enabled(bool enabled) { g_enabled.store(enabled, std::memory_order_relaxed); }
bool enabled() { return g_enabled.load(std::memory_order_relaxed); }

void reset() {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_totals = OpTotals{};
}

OpTotals totals() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_totals;
}

Scope::Scope(OpKind kind, double flops) {
  if (!enabled()) return;
  active_ = true;
  kind_ = kind;
  flops_ = flops;
  parent_ = t_innermost;
  t_innermost = this;
  start_ = std::chrono::steady_clock::now();
}

Scope::~Scope() {
  if (!active_) return;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  t_innermost = parent_;
  if (parent_ != nullptr) parent_->child_seconds_ += seconds;
  const int k = static_cast<int>(kind_);
  std::lock_guard<std::mutex> lock(g_mutex);
  g_totals.seconds[k] += seconds - child_seconds_;
  g_totals.flops[k] += flops_;
  g_totals.calls[k] += 1;
}

}  // namespace osp::profile
