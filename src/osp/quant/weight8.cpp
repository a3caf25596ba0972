#include "osp/quant/weight8.h"

#include <ATen/Parallel.h>
#include <c10/util/BFloat16.h>

#include <algorithm>

#include "osp/core/error.h"
#include "osp/quant/fp8.h"
#include "osp/quant/hif8.h"
#include "osp/quant/table_decode.h"

namespace osp::quant {
namespace {

constexpr float kAmaxFloor = 1e-8f;
// Decoded weight tile of the CPU dequantizing GEMM: about this many bytes of float32, and at
// least this many output channels so that each tile GEMM stays large.
constexpr int64_t kTileBytes = int64_t{8} << 20;
constexpr int64_t kMinTileRows = 256;

at::Tensor encode(const at::Tensor& x, WeightFormat format) {
  return format == WeightFormat::kHiF8 ? hif8_encode(x) : fp8_e4m3_encode(x);
}

float largest_value(WeightFormat format) { return format == WeightFormat::kHiF8 ? kHiF8Max : kFp8E4M3Max; }

int64_t tile_rows(int64_t in_features, int64_t out_features) {
  const int64_t by_bytes = kTileBytes / (4 * std::max<int64_t>(in_features, 1)) / 64 * 64;
  return std::min(out_features, std::max(kMinTileRows, by_bytes));
}

// rows [row0, row0 + tile.size(0)) of decode(codes)·scale into `tile` (float32 [rows, in]),
// rounded to bf16 values when asked; rows in parallel.
void decode_rows(const QuantizedWeight& w, const uint8_t* codes, const float* scale, int64_t row0, at::Tensor& tile,
                 bool bf16_weight) {
  const int64_t in = w.in_features();
  const auto& table = value_table(w.format);
  float* out = tile.data_ptr<float>();
  at::parallel_for(0, tile.size(0), 1, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      float* dst = out + r * in;
      decode_span(codes + (row0 + r) * in, dst, in, table);
      const float s = scale[row0 + r];
      for (int64_t k = 0; k < in; ++k) dst[k] *= s;
      if (bf16_weight) {
        for (int64_t k = 0; k < in; ++k) dst[k] = static_cast<float>(c10::BFloat16(dst[k]));  // RNE
      }
    }
  });
}

}  // namespace

const char* format_name(WeightFormat format) { return format == WeightFormat::kHiF8 ? "hif8" : "fp8-e4m3"; }

WeightFormat parse_weight_format(const std::string& text, const std::string& flag) {
  if (text == "hif8") return WeightFormat::kHiF8;
  if (text == "fp8-e4m3" || text == "fp8_e4m3" || text == "e4m3") return WeightFormat::kFp8E4M3;
  fail_about(flag, "unknown 8-bit format '{}' (expected hif8 or fp8-e4m3)", text);
}

double default_target(WeightFormat format) { return format == WeightFormat::kHiF8 ? 15.0 : kFp8E4M3Max; }

double resolve_target(WeightFormat format, double target) {
  const double t = target > 0 ? target : default_target(format);
  if (!(t <= largest_value(format))) {
    fail_about("--target", "{} is above the largest finite {} value {}", t, format_name(format), largest_value(format));
  }
  return t;
}

const std::array<float, 256>& value_table(WeightFormat format) {
  return format == WeightFormat::kHiF8 ? hif8_table() : fp8_e4m3_table();
}

io::DType storage_dtype(WeightFormat format) {
  return format == WeightFormat::kHiF8 ? io::DType::kU8 : io::DType::kF8E4M3;
}

void validate(const QuantizedWeight& w, const std::string& name) {
  if (!w.codes.defined() || w.codes.scalar_type() != at::kByte || w.codes.dim() != 2) {
    fail_about(name, "8-bit weight codes must be uint8 [out, in]");
  }
  if (!w.scale.defined() || w.scale.dim() != 1 || w.scale.size(0) != w.codes.size(0)) {
    fail_about(name, "scale must have shape [{}] (one per output channel)", w.codes.size(0));
  }
  if (w.scale.numel() > 0) {
    const at::Tensor s = w.scale.to(at::kFloat);
    if (!at::isfinite(s).all().item<bool>() || !(s > 0).all().item<bool>()) {
      fail_about(name, "scale must be finite and positive in every channel");
    }
  }
}

QuantizedWeight quantize_weight(const at::Tensor& weight, WeightFormat format, double target) {
  TORCH_CHECK(weight.dim() == 2 && at::isFloatingType(weight.scalar_type()), "quantize_weight: expected a floating [out, in] weight, got ",
              weight.scalar_type(), " ", weight.sizes());
  const double t = resolve_target(format, target);
  const at::Tensor w = weight.to(at::kFloat).contiguous();
  QuantizedWeight q;
  q.format = format;
  q.scale = at::clamp_min(w.abs().amax(1), kAmaxFloor) / static_cast<float>(t);  // float32 [out]
  q.codes = encode(w / q.scale.unsqueeze(1), format);
  return q;
}

at::Tensor dequantize(const QuantizedWeight& w, at::ScalarType dtype) {
  const at::Tensor scale = w.scale.to(w.codes.device(), at::kFloat);
  if (w.codes.dim() != 2) {
    const at::Tensor values = decode_with_table(w.codes, value_table(w.format), at::kFloat);
    return (values * scale.unsqueeze(1)).to(dtype);
  }
  // Row blocks: the float32 values and their scaled copy exist for 256 rows at a time instead of
  // the whole matrix (a 14B FFN weight would otherwise hold 0.7 GB of temporaries beside its result).
  constexpr int64_t kRows = 256;
  at::Tensor out = at::empty(w.codes.sizes(), w.codes.options().dtype(dtype));
  for (int64_t first = 0; first < w.codes.size(0); first += kRows) {
    const int64_t rows = std::min(kRows, w.codes.size(0) - first);
    const at::Tensor values = decode_with_table(w.codes.narrow(0, first, rows), value_table(w.format), at::kFloat);
    out.narrow(0, first, rows).copy_(values * scale.narrow(0, first, rows).unsqueeze(1));
  }
  return out;
}

at::Tensor dequant_linear(const at::Tensor& x, const QuantizedWeight& w, const at::Tensor& bias, bool bf16_weight) {
  TORCH_CHECK(x.dim() == 2 && x.size(1) == w.in_features(), "dequant_linear: input ", x.sizes(), " does not match weight ",
              w.codes.sizes());
  const at::ScalarType dtype = x.scalar_type();
  if (!x.is_cpu() || !w.codes.is_cpu()) {  // just-in-time dequantization of the whole layer
    const at::Tensor weight = dequantize(w, bf16_weight ? at::kBFloat16 : at::kFloat).to(dtype);
    return bias.defined() ? at::addmm(bias, x, weight.t()) : at::mm(x, weight.t());
  }
  const int64_t out_features = w.out_features();
  const at::Tensor codes = w.codes.contiguous();
  const at::Tensor scale = w.scale.to(at::kFloat).contiguous();
  at::Tensor y = at::empty({x.size(0), out_features}, x.options());
  const int64_t rows = tile_rows(w.in_features(), out_features);
  at::Tensor buffer = at::empty({rows, w.in_features()}, at::kFloat);
  for (int64_t row0 = 0; row0 < out_features; row0 += rows) {
    const int64_t n = std::min(rows, out_features - row0);
    at::Tensor tile = buffer.narrow(0, 0, n);
    decode_rows(w, codes.data_ptr<uint8_t>(), scale.data_ptr<float>(), row0, tile, bf16_weight);
    const at::Tensor operand = dtype == at::kFloat ? tile : tile.to(dtype);
    at::Tensor columns = y.narrow(1, row0, n);  // written in place: row stride out_features
    if (bias.defined()) {
      at::addmm_out(columns, bias.narrow(0, row0, n), x, operand.t());
    } else {
      at::mm_out(columns, x, operand.t());
    }
  }
  return y;
}

}  // namespace osp::quant
