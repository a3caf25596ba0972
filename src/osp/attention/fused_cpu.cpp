#include "osp/core/shape.h"
#include "osp/attention/fused_cpu.h"

#include "osp/attention/fused_cpu_problem.h"
// The scalar instantiation: default target flags.
#include "osp/attention/fused_cpu_kernel.h"

#include "osp/attention/dense.h"
#include "osp/core/error.h"

#include <string>

namespace osp::attention {
namespace detail {

void fused_run_scalar(const FusedProblem& problem) { run_fused<ScalarVec>(problem); }

}  // namespace detail

namespace {

bool cpu_supports_avx2() {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

bool cpu_supports_avx512() {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("avx512f");
#else
  return false;
#endif
}

bool cpu_supports_avx512_bf16() {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

// Lengths as int64 [B] on the CPU, checked against [0, limit]; all `limit` when undefined.
at::Tensor lengths_or_full(const at::Tensor& lengths, int64_t batch, int64_t limit, const char* what) {
  if (!lengths.defined()) return at::full({batch}, limit, at::TensorOptions().dtype(at::kLong));
  require(lengths.dim() == 1 && lengths.size(0) == batch, "fused_attention: {} must have shape [{}], got {}", what,
          batch, lengths.dim() == 1 ? std::to_string(lengths.size(0)) : std::to_string(lengths.dim()) + " dims");
  require(!at::isFloatingType(lengths.scalar_type()) && lengths.scalar_type() != at::kBool,
          "fused_attention: {} must be an integer tensor", what);
  at::Tensor out = lengths.to(at::kCPU).to(at::kLong).contiguous();
  const int64_t* data = out.data_ptr<int64_t>();
  for (int64_t b = 0; b < batch; ++b)
    require(data[b] >= 0 && data[b] <= limit, "fused_attention: {}[{}] = {} is outside [0, {}]", what, b, data[b],
            limit);
  return out;
}

// Any-device fallback: dense attention per batch row on its valid prefix.
at::Tensor fallback_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale,
                              Precision precision, const at::Tensor& key_lengths, const at::Tensor& query_lengths) {
  if (!key_lengths.defined() && !query_lengths.defined()) return attention(q, k, v, scale, precision);
  const int64_t batch = q.size(0);
  const at::Tensor kl = lengths_or_full(key_lengths, batch, k.size(1), "key_lengths");
  const at::Tensor ql = lengths_or_full(query_lengths, batch, q.size(1), "query_lengths");
  at::Tensor out = at::zeros(q.sizes(), q.options().dtype(at::kFloat));
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t nk = kl[b].item<int64_t>(), nq = ql[b].item<int64_t>();
    if (nk == 0 || nq == 0) continue;
    out.narrow(0, b, 1).narrow(1, 0, nq).copy_(attention(q.narrow(0, b, 1).narrow(1, 0, nq),
                                                         k.narrow(0, b, 1).narrow(1, 0, nk),
                                                         v.narrow(0, b, 1).narrow(1, 0, nk), scale, precision));
  }
  return out;
}

}  // namespace

bool cpu_isa_available(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::kAuto:
    case CpuIsa::kScalar:
      return true;
    case CpuIsa::kAvx2:
      return detail::fused_avx2_compiled() && cpu_supports_avx2();
    case CpuIsa::kAvx512:
      return detail::fused_avx512_compiled() && cpu_supports_avx512();
    case CpuIsa::kAvx512Bf16:
      return detail::fused_avx512_bf16_compiled() && cpu_supports_avx512() && cpu_supports_avx512_bf16();
    case CpuIsa::kAmx:
      return detail::fused_amx_compiled() && cpu_supports_avx512() && cpu_supports_avx512_bf16() &&
             detail::fused_amx_usable();
  }
  return false;
}

CpuIsa best_cpu_isa() {
  // Not kAvx512Bf16: where vdpbf16ps issues on one port (Sapphire Rapids) it does the float FMAs'
  // work per cycle and the pair path is slower (docs/skiparse.md "Fused CPU kernel").
  if (cpu_isa_available(CpuIsa::kAmx)) return CpuIsa::kAmx;
  if (cpu_isa_available(CpuIsa::kAvx512)) return CpuIsa::kAvx512;
  if (cpu_isa_available(CpuIsa::kAvx2)) return CpuIsa::kAvx2;
  return CpuIsa::kScalar;
}

std::string cpu_isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::kAuto:
      return "auto";
    case CpuIsa::kScalar:
      return "scalar";
    case CpuIsa::kAvx2:
      return "avx2";
    case CpuIsa::kAvx512:
      return "avx512";
    case CpuIsa::kAvx512Bf16:
      return "avx512-bf16";
    case CpuIsa::kAmx:
      return "amx";
  }
  return "unknown";
}

double attention_flops(int64_t batch, int64_t query_len, int64_t key_len, int64_t heads, int64_t head_dim) {
  return 4.0 * static_cast<double>(batch) * static_cast<double>(heads) * static_cast<double>(query_len) *
         static_cast<double>(key_len) * static_cast<double>(head_dim);
}

at::Tensor fused_attention(const at::Tensor& q_in, const at::Tensor& k_in, const at::Tensor& v_in, double scale,
                           Precision precision, const at::Tensor& key_lengths, const at::Tensor& query_lengths,
                           CpuIsa isa) {
  require(q_in.defined() && k_in.defined() && v_in.defined(), "fused_attention: undefined input");
  require(q_in.dim() == 4 && k_in.dim() == 4 && v_in.dim() == 4, "fused_attention: expected [B, L, N, D] inputs");
  require(k_in.sizes() == v_in.sizes(), "fused_attention: k {} and v {} differ", osp::shape_string(k_in.sizes()),
          osp::shape_string(v_in.sizes()));
  require(q_in.size(0) == k_in.size(0) && q_in.size(2) == k_in.size(2) && q_in.size(3) == k_in.size(3),
          "fused_attention: q {} does not match k {}", osp::shape_string(q_in.sizes()), osp::shape_string(k_in.sizes()));
  require(std::isfinite(scale), "fused_attention: scale must be finite");
  if (isa == CpuIsa::kAuto) isa = best_cpu_isa();
  require(cpu_isa_available(isa), "fused_attention: ISA {} is not available on this build or CPU", cpu_isa_name(isa));
  if (!q_in.is_cpu() || !k_in.is_cpu() || !v_in.is_cpu())
    return fallback_attention(q_in, k_in, v_in, scale, precision, key_lengths, query_lengths);

  // Operands: float32 or bf16, all alike, unit stride along D.
  const auto dtype = q_in.scalar_type();
  const bool same = k_in.scalar_type() == dtype && v_in.scalar_type() == dtype;
  const bool bf16 = same && dtype == at::kBFloat16;
  const auto prepare = [&](const at::Tensor& x) {
    at::Tensor y = bf16 ? x : x.to(at::kFloat);
    return y.stride(3) == 1 ? y : y.contiguous();
  };
  const at::Tensor q = prepare(q_in), k = prepare(k_in), v = prepare(v_in);

  const int64_t batch = q.size(0), lq = q.size(1), heads = q.size(2), dim = q.size(3), lk = k.size(1);
  const at::Tensor kl = lengths_or_full(key_lengths, batch, lk, "key_lengths");
  const at::Tensor ql = lengths_or_full(query_lengths, batch, lq, "query_lengths");
  at::Tensor out = at::empty({batch, lq, heads, dim}, q.options().dtype(at::kFloat));
  if (out.numel() == 0) return out;
  if (lk == 0) return out.zero_();

  detail::FusedProblem p;
  p.q = q.data_ptr();
  p.k = k.data_ptr();
  p.v = v.data_ptr();
  p.bf16_input = bf16;
  p.batch = batch;
  p.query_len = lq;
  p.key_len = lk;
  p.heads = heads;
  p.head_dim = dim;
  for (int i = 0; i < 3; ++i) {
    p.q_stride[i] = q.stride(i);
    p.k_stride[i] = k.stride(i);
    p.v_stride[i] = v.stride(i);
  }
  p.key_lengths = kl.data_ptr<int64_t>();
  p.query_lengths = ql.data_ptr<int64_t>();
  p.scale_log2 = static_cast<float>(scale * 1.4426950408889634);
  p.round_bf16 = precision.reduced();
  p.out = out.data_ptr<float>();
  switch (isa) {
    case CpuIsa::kAmx:
      detail::fused_run_amx(p);
      break;
    case CpuIsa::kAvx512Bf16:
      detail::fused_run_avx512_bf16(p);
      break;
    case CpuIsa::kAvx512:
      detail::fused_run_avx512(p);
      break;
    case CpuIsa::kAvx2:
      detail::fused_run_avx2(p);
      break;
    default:
      detail::fused_run_scalar(p);
      break;
  }
  return out;
}

}  // namespace osp::attention
