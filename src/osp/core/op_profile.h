#pragma once
// An opt-in per-operation time profile of the engine's forward passes (`osp bench dit --profile`):
// the operations that make up a DiT block open a Scope of their kind; while profiling is enabled
// each kind accumulates its exclusive wall time (a scope nested inside another counts only for
// itself, its parent gets the rest), its calls and, where the operation knows it, its FLOPs.
// Disabled (the default) a Scope is one relaxed atomic load.
//
// Scopes are timed on the thread that opens them; the engine's operations are opened on the
// calling thread and parallelise inside, so the times are wall times of the forward.
#include <array>
#include <chrono>
#include <cstdint>
#include <string>

namespace osp::profile {

enum class OpKind : int {
  kGemm,          // linear layers and matmuls (the GEMM itself)
  kAttention,     // the attention kernels (self and cross)
  kNorm,          // LayerNorm / RMSNorm, modulation, gated residual adds
  kRope,          // rotary position embedding
  kActivation,    // GELU, SiLU
  kCast,          // bf16 roundings and dtype conversions of GEMM operands
  kLayout,        // Skiparse rearrangements, padding, head/sequence layout copies
  kCount
};

constexpr int kOpKinds = static_cast<int>(OpKind::kCount);
std::string op_kind_name(OpKind kind);

struct OpTotals {
  std::array<double, kOpKinds> seconds{};
  std::array<double, kOpKinds> flops{};
  std::array<int64_t, kOpKinds> calls{};
};

void set_enabled(bool enabled);
bool enabled();
void reset();
OpTotals totals();

class Scope {
 public:
  explicit Scope(OpKind kind, double flops = 0.0);
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  bool active_ = false;
  OpKind kind_ = OpKind::kGemm;
  double flops_ = 0.0;
  double child_seconds_ = 0.0;
  Scope* parent_ = nullptr;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace osp::profile
