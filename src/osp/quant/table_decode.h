#pragma once
// Decoding 8-bit codes through a 256-entry value table: shared by HiF8 and FP8 E4M3, by the
// codecs and by the dequantizing matmul.
#include <ATen/ATen.h>

#include <array>
#include <cstdint>

namespace osp::quant {

// values[i] = table[codes[i]] for a uint8 tensor on any device; `dtype` float32 or bf16 (the
// conversion is exact for both 8-bit formats). CPU: AVX2 gather kernel when available.
at::Tensor decode_with_table(const at::Tensor& codes, const std::array<float, 256>& table,
                             at::ScalarType dtype = at::kFloat);

// out[i] = table[codes[i]] on the calling thread (for kernels that decode tiles).
void decode_span(const uint8_t* codes, float* out, int64_t n, const std::array<float, 256>& table);

}  // namespace osp::quant
