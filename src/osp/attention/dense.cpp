#include "osp/attention/dense.h"

#include "osp/core/op_profile.h"

#include <algorithm>
#include <cmath>

#include "osp/attention/fused_cpu.h"
#include "osp/attention/skiparse.h"
#include "osp/core/torch_compat.h"
#include "osp/nn/autograd.h"
#include "osp/nn/gemm.h"

namespace osp::attention {
namespace {

void check_inputs(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& key_mask) {
  TORCH_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, "attention: expected [B, L, N, D] inputs");
  TORCH_CHECK(k.sizes() == v.sizes(), "attention: k ", k.sizes(), " and v ", v.sizes(), " differ");
  TORCH_CHECK(k.size(0) > 0 && q.size(0) % k.size(0) == 0 && q.size(2) == k.size(2) && q.size(3) == k.size(3),
              "attention: q ", q.sizes(), " does not match k ", k.sizes());
  if (key_mask.defined()) {
    TORCH_CHECK(key_mask.scalar_type() == at::kBool && key_mask.dim() == 2 && key_mask.size(0) == q.size(0) &&
                    key_mask.size(1) == k.size(1),
                "attention: key mask ", key_mask.sizes(), " ", key_mask.scalar_type(), " is not bool [", q.size(0),
                ", ", k.size(1), "]");
  }
}

// Operands as float32 tensors of the precision's values (bf16 values in bf16 mode, docs/dit.md "Precision").
at::Tensor operand(const at::Tensor& x, Precision precision) {
  if (precision.reduced()) return nn::rounded_to_bf16(x);
  return x.scalar_type() == at::kFloat ? x : x.to(at::kFloat);
}

at::Tensor sdpa_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale,
                          Precision precision, const at::Tensor& key_mask) {
  // Native bf16 SDPA where bf16 is native (fp32 softmax/accumulation inside); elsewhere float32
  // SDPA on bf16-valued operands, which is the same arithmetic.
  const bool native = precision.reduced() && nn::native_bf16_gemm(q.device());
  const int64_t repeats = q.size(0) / k.size(0);
  const auto prep = [&](const at::Tensor& x, int64_t copies) {
    at::Tensor y = native ? x.to(at::kBFloat16) : operand(x, precision);
    if (copies > 1) y = y.repeat({copies, 1, 1, 1});  // row r = x[r mod Bk]
    return y.transpose(1, 2);                           // [B, N, L, D]
  };
  at::Tensor mask;
  if (key_mask.defined()) mask = key_mask.to(q.device()).view({key_mask.size(0), 1, 1, key_mask.size(1)});
  at::Tensor out = compat::sdpa_or_undefined(prep(q, 1), prep(k, repeats), prep(v, repeats), scale, mask);
  if (!out.defined()) return out;
  out = out.transpose(1, 2).to(at::kFloat).contiguous();
  // Rows without a valid key: zero, like the varlen kernel (SDPA would give NaN).
  if (mask.defined()) out.masked_fill_(mask.any(-1, true).logical_not(), 0.0);
  if (precision.reduced()) nn::round_to_bf16_(out);
  return out;
}

}  // namespace

int64_t chunk_rows(int64_t query_len, int64_t key_len, int64_t score_budget_bytes) {
  const int64_t rows = score_budget_bytes / (std::max<int64_t>(key_len, 1) * int64_t{sizeof(float)});
  return std::clamp<int64_t>(rows, 1, std::max<int64_t>(query_len, 1));
}

at::Tensor math_attention(const at::Tensor& q_in, const at::Tensor& k_in, const at::Tensor& v_in, double scale,
                          Precision precision, int64_t score_budget_bytes, const at::Tensor& key_mask) {
  check_inputs(q_in, k_in, v_in, key_mask);
  const at::Tensor q = operand(q_in, precision), k = operand(k_in, precision), v = operand(v_in, precision);
  const int64_t batch = q.size(0), lq = q.size(1), heads = q.size(2), lk = k.size(1), key_batch = k.size(0);
  at::Tensor out = at::empty(q.sizes(), q.options().dtype(at::kFloat));
  const int64_t rows = chunk_rows(lq, lk, score_budget_bytes);
  const at::Tensor scores_buffer = at::empty({rows * std::max<int64_t>(lk, 1)}, out.options());
  const at::Tensor mask = key_mask.defined() ? key_mask.to(at::kCPU) : key_mask;

  for (int64_t b = 0; b < batch; ++b) {
    at::Tensor kb = k[b % key_batch], vb = v[b % key_batch];  // [Lk, N, D]
    if (mask.defined()) {
      // Unpad: keep the valid keys/values of this row (docs/skiparse.md "Padding and validity" step 3, "Attention in a sparse block" step 4).
      const at::Tensor valid = mask[b];
      const int64_t count = valid.sum().item<int64_t>();
      if (count == 0) {
        out[b].zero_();
        continue;
      }
      if (count < lk) {
        const at::Tensor index = valid.nonzero().view(-1).to(k.device());
        kb = kb.index_select(0, index);
        vb = vb.index_select(0, index);
      }
    }
    const int64_t keys = kb.size(0);
    for (int64_t n = 0; n < heads; ++n) {
      // Per-head 2D views with row stride N·D: BLAS reads them in place, no copies.
      const at::Tensor qh = q[b].select(1, n), kh = kb.select(1, n), vh = vb.select(1, n);
      const at::Tensor oh = out[b].select(1, n);
      for (int64_t r0 = 0; r0 < lq; r0 += rows) {
        const int64_t r1 = std::min(lq, r0 + rows);
        at::Tensor scores = scores_buffer.narrow(0, 0, (r1 - r0) * keys).view({r1 - r0, keys});
        // scores = scale · q kᵀ (beta 0: the buffer's old contents are ignored).
        at::addmm_out(scores, scores, qh.narrow(0, r0, r1 - r0), kh.t(), /*beta=*/0, /*alpha=*/scale);
        at::_softmax_out(scores, scores, /*dim=*/1, /*half_to_float=*/false);
        at::Tensor o_rows = oh.narrow(0, r0, r1 - r0);
        at::mm_out(o_rows, scores, vh);
      }
    }
  }
  if (precision.reduced()) nn::round_to_bf16_(out);
  return out;
}

namespace {

// The fused kernel takes key lengths, not masks: each row's valid keys and values are moved to
// the front (docs/skiparse.md "Attention in a sparse block" step 4, the varlen form), queries keep their order, so the result is
// the masked attention of every query row, padded ones included, as the math path computes it.
at::Tensor fused_masked_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale,
                                  Precision precision, const at::Tensor& key_mask) {
  at::Tensor k_valid, v_valid, lengths;
  {
    const profile::Scope scope(profile::OpKind::kLayout);
    const ValidFirstOrder valid = valid_first_order(key_mask.to(at::kCPU));
    // Whole token rows ([N, D] each) move: an index_select of rows of the flattened [B·L, N·D]
    // tensor copies each row at once, where a gather would index every element.
    const int64_t B = k.size(0), L = k.size(1);
    const at::Tensor rows = (valid.order + at::arange(B, valid.order.options()).mul(L).unsqueeze(1)).flatten();
    const auto select_rows = [&](const at::Tensor& x) {
      return x.reshape({B * L, -1}).index_select(0, rows).view(x.sizes());
    };
    k_valid = select_rows(k);
    v_valid = select_rows(v);
    lengths = valid.lengths;
  }
  return fused_attention(q, k_valid, v_valid, scale, precision, lengths);
}

// The fused kernel wants one K/V row per query row. Query row r uses K/V row r mod Bk: one
// shared row is a free broadcast, several (Skiparse sub-sequences sharing each sample's text
// keys, "Attention in a sparse block" step 2) are tiled — P² copies of [Lc, N, D], small next to the attention itself.
at::Tensor per_query_row(const at::Tensor& x, int64_t rows) {
  if (x.size(0) == rows) return x;
  if (x.size(0) == 1) return x.expand({rows, -1, -1, -1});
  const profile::Scope scope(profile::OpKind::kLayout);
  return x.repeat({rows / x.size(0), 1, 1, 1});
}

at::Tensor run_fused(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale, Precision precision,
                     const at::Tensor& key_mask) {
  const at::Tensor kb = per_query_row(k, q.size(0)), vb = per_query_row(v, q.size(0));
  if (key_mask.defined()) return fused_masked_attention(q, kb, vb, scale, precision, key_mask);
  return fused_attention(q, kb, vb, scale, precision);
}

// kAuto on the CPU: LibTorch ≥ 2.1's SDPA for unmasked bf16 where the CPU has bf16 dot products
// (its flash kernel runs them on the bf16 units: 2.7× our fused kernel at L = 2048, docs/building.md
// "LibTorch 2.x against 1.13"); our fused kernel otherwise — fp32 (level with SDPA), masked rows
// (the varlen form), and LibTorch 1.13.
bool cpu_auto_prefers_sdpa(Precision precision, const at::Tensor& key_mask) {
  return compat::kHasSdpa && precision.reduced() && !key_mask.defined() && nn::native_bf16_gemm(c10::Device(c10::kCPU));
}

}  // namespace

at::Tensor autograd_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale,
                              Precision precision, const at::Tensor& key_mask) {
  check_inputs(q, k, v, key_mask);
  // Operands as in sdpa_attention, rounded by differentiable casts; [B, N, L, D].
  const int64_t repeats = q.size(0) / k.size(0);
  const auto prep = [&](const at::Tensor& x, int64_t copies) {
    at::Tensor y = x.to(at::kFloat);
    if (precision.reduced()) y = nn::bf16_round_trip(y);
    if (copies > 1) y = y.repeat({copies, 1, 1, 1});  // row r = x[r mod Bk]
    return y.transpose(1, 2);
  };
  const at::Tensor qt = prep(q, 1), kt = prep(k, repeats), vt = prep(v, repeats);
  at::Tensor out;
  at::Tensor empty_rows;  // bool [B, 1, 1, 1]: rows without any valid key (zero output)
  if (key_mask.defined()) {
    const at::Tensor mask = key_mask.to(q.device()).view({key_mask.size(0), 1, 1, key_mask.size(1)});
    empty_rows = mask.any(-1, /*keepdim=*/true).logical_not();
    // An empty row attends everywhere (finite softmax) and is zeroed below.
    const at::Tensor allowed = mask.logical_or(empty_rows);
    out = compat::sdpa_or_undefined(qt, kt, vt, scale, allowed);
    if (!out.defined()) {
      const at::Tensor scores = at::matmul(qt, kt.transpose(-2, -1)).mul(scale);
      out = at::matmul(at::softmax(scores.masked_fill(allowed.logical_not(), -INFINITY), -1), vt);
    }
  } else {
    out = compat::sdpa_or_undefined(qt, kt, vt, scale);
    if (!out.defined()) out = at::matmul(at::softmax(at::matmul(qt, kt.transpose(-2, -1)).mul(scale), -1), vt);
  }
  out = out.transpose(1, 2).contiguous();  // [B, Lq, N, D]
  if (empty_rows.defined()) out = out.masked_fill(empty_rows.view({-1, 1, 1, 1}), 0.0);
  return precision.reduced() ? nn::bf16_round_trip(out) : out;
}

at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale, Precision precision,
                     DenseKernel kernel, const at::Tensor& key_mask) {
  const profile::Scope scope(profile::OpKind::kAttention,
                             attention_flops(q.size(0), q.size(1), k.size(1), q.size(2), q.size(3)));
  if (nn::records_graph(q, k, v)) return autograd_attention(q, k, v, scale, precision, key_mask);
  check_inputs(q, k, v, key_mask);
  if (q.is_cpu() && kernel == DenseKernel::kAuto && cpu_auto_prefers_sdpa(precision, key_mask)) {
    at::Tensor out = sdpa_attention(q, k, v, scale, precision, key_mask);
    if (out.defined()) return out;
  }
  if (q.is_cpu() && (kernel == DenseKernel::kFused || kernel == DenseKernel::kAuto))
    return run_fused(q, k, v, scale, precision, key_mask);
  if ((kernel == DenseKernel::kSdpa || kernel == DenseKernel::kAuto) && compat::kHasSdpa) {
    at::Tensor out = sdpa_attention(q, k, v, scale, precision, key_mask);
    if (out.defined()) return out;
  }
  return math_attention(q, k, v, scale, precision, int64_t{64} << 20, key_mask);
}

}  // namespace osp::attention
