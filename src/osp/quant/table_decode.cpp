#include "osp/quant/table_decode.h"

#include "osp/quant/hif8_kernels.h"

namespace osp::quant {

void decode_span(const uint8_t* codes, float* out, int64_t n, const std::array<float, 256>& table) {
  if (detail::hif8_avx2_available()) {
    detail::decode_table_avx2(codes, out, n, table.data());
  } else {
    detail::decode_table_scalar(codes, out, n, table.data());
  }
}

at::Tensor decode_with_table(const at::Tensor& codes, const std::array<float, 256>& table, at::ScalarType dtype) {
  TORCH_CHECK(codes.scalar_type() == at::kByte, "decode: expected uint8 codes, got ", codes.scalar_type());
  TORCH_CHECK(dtype == at::kFloat || dtype == at::kBFloat16, "decode: float32 or bf16 output, got ", dtype);
  if (!codes.is_cpu()) {
    const at::Tensor values =
        at::from_blob(const_cast<float*>(table.data()), {256}, at::kFloat).to(codes.device());
    return values.index_select(0, codes.reshape({-1}).to(at::kLong)).view(codes.sizes()).to(dtype);
  }
  const at::Tensor in = codes.contiguous();
  at::Tensor out = at::empty(in.sizes(), in.options().dtype(at::kFloat));
  const uint8_t* src = in.data_ptr<uint8_t>();
  float* dst = out.data_ptr<float>();
  detail::parallel_spans(in.numel(), [&](int64_t begin, int64_t end) {
    decode_span(src + begin, dst + begin, end - begin, table);
  });
  return dtype == at::kFloat ? out : out.to(dtype);
}

}  // namespace osp::quant
