#pragma once
// GEMMs under the precision policy (docs/dit.md "Precision": "bf16 operands, fp32 accumulation, bf16
// output"). Every linear layer of the models and the benchmark's GEMM rate go through this file,
// so that the benchmark times exactly the path the forward pass uses.
//
// On a CPU without native bf16 GEMM (no AVX512-BF16 / AMX-BF16) LibTorch 1.13's bf16 matmul runs
// at ~4 GFLOP/s against ~116 GFLOP/s for fp32 through OpenBLAS. Since a product of two bf16
// values is exact in fp32, the bf16 semantics are reproduced exactly by: round the operands to
// bf16 values, keep them in fp32 storage, multiply with the fp32 GEMM (fp32 accumulation), round
// the result to bf16 once. Such "bf16-valued fp32" tensors flow between layers on the CPU; on
// CUDA (and CPUs with native bf16) the operands are real bf16 tensors and the GEMM is native.
#include <ATen/ATen.h>

#include "osp/core/precision.h"
#include "osp/nn/bf16.h"

namespace osp::nn {

// True when this CPU has a native bf16 dot-product instruction (AVX512-BF16 or AMX-BF16);
// detected once via cpuid. Always false off x86.
bool cpu_has_native_bf16();

// Whether bf16 GEMMs on `device` run natively (CUDA, or a CPU with native bf16).
bool native_bf16_gemm(const c10::Device& device);

// An activation prepared once as the left operand of one or more GEMMs (e.g. the modulated
// input shared by q, k and v): in bf16 mode its values are already bf16 (in float32 storage on the
// emulated path, bf16 dtype on the native path), so the linears need not round a copy each.
struct GemmInput {
  at::Tensor values;
};

// Prepares `x` for GEMMs under `precision`. With `may_overwrite` the caller hands over a temporary
// and it is rounded in place (no copy).
GemmInput prepare_gemm_input(at::Tensor x, Precision precision, bool may_overwrite = false);

// y = x·weightᵀ + bias over the last dimension of x ([..., K] → [..., N]); weight [N, K], bias [N]
// or undefined. fp32 mode: plain fp32. bf16 mode: bf16 operands (bias included), fp32
// accumulation, output rounded to bf16 (float32 storage on the emulated path, bf16 dtype natively).
at::Tensor linear(const GemmInput& x, const at::Tensor& weight, const at::Tensor& bias, Precision precision);
at::Tensor linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, Precision precision);

// a [M, K] · b [K, N] with the same semantics; the GEMM the benchmark times as "the GEMM rate".
at::Tensor matmul(const at::Tensor& a, const at::Tensor& b, Precision precision);

}  // namespace osp::nn
