// Fake quantization (docs/quantization.md "Per-tensor fake quantization" to "Q/K/V fake quantization"), FP8 E4M3, 8-bit weights and the dequantizing matmul,
// the nn::linear hooks and the DiT integration, against explicit float64 loops on random inputs.
#include <gtest/gtest.h>

#include <c10/util/BFloat16.h>
#include <torch/csrc/autograd/autograd.h>

#include <cmath>
#include <iostream>
#include <limits>
#include <random>

#include "osp/core/error.h"
#include "osp/io/float8.h"
#include "osp/models/dit/config.h"
#include "osp/models/dit/model.h"
#include "osp/models/dit/quantization.h"
#include "osp/nn/linear.h"
#include "osp/quant/checkpoint.h"
#include "osp/quant/fake_quant.h"
#include "osp/quant/fp8.h"
#include "osp/quant/hif8.h"
#include "osp/quant/weight8.h"
#include "reference_dit.h"
#include "test_util.h"

namespace {

using osp::test::kBf16;
using osp::test::kFp32;
using osp::test::rel_error;
namespace quant = osp::quant;

// FQ(x, smax) element by element with the scalar codec: scale = smax / max|x| in float32.
at::Tensor fake_quant_by_loop(const at::Tensor& x, double smax) {
  const at::Tensor xc = x.to(at::kFloat).contiguous();
  const float* p = xc.data_ptr<float>();
  float amax = 0;
  for (int64_t i = 0; i < xc.numel(); ++i) amax = std::max(amax, std::fabs(p[i]));
  const float scale = static_cast<float>(smax) / std::max(amax, 1e-8f);
  at::Tensor y = at::empty_like(xc);
  float* q = y.data_ptr<float>();
  for (int64_t i = 0; i < xc.numel(); ++i) q[i] = quant::hif8_decode(quant::hif8_encode(p[i] * scale)) / scale;
  return y;
}

// ---- FP8 E4M3 ----

TEST(Fp8E4M3, TableIsTheSafetensorsDecoderAndEveryFiniteCodeRoundTrips) {
  for (int c = 0; c < 256; ++c) {
    const float v = quant::fp8_e4m3_table()[c];
    const float io_value = osp::io::decode_float8(static_cast<uint8_t>(c), osp::io::DType::kF8E4M3);
    if (std::isnan(io_value)) {
      EXPECT_TRUE(std::isnan(v));
      EXPECT_EQ(quant::fp8_e4m3_encode(v), 0x7F);
      continue;
    }
    EXPECT_EQ(v, io_value) << c;
    EXPECT_EQ(quant::fp8_e4m3_encode(v), c) << "code " << c << " value " << v;
  }
  EXPECT_EQ(quant::fp8_e4m3_table()[0x7E], 448.0f);
}

TEST(Fp8E4M3, RoundsToNearestEvenAndSaturates) {
  // Adjacent positive values: midpoints go to the even code, neighbours to their side.
  for (int c = 0; c < 0x7E; ++c) {
    const float lo = quant::fp8_e4m3_table()[c], hi = quant::fp8_e4m3_table()[c + 1];
    const float mid = (lo + hi) / 2;
    ASSERT_EQ(static_cast<double>(mid), (static_cast<double>(lo) + hi) / 2);
    EXPECT_EQ(quant::fp8_e4m3_encode(mid), (c % 2 == 0) ? c : c + 1) << "tie between " << lo << " and " << hi;
    EXPECT_EQ(quant::fp8_e4m3_encode(std::nextafter(mid, 0.0f)), c) << mid;
    EXPECT_EQ(quant::fp8_e4m3_encode(std::nextafter(mid, 1e9f)), c + 1) << mid;
    EXPECT_EQ(quant::fp8_e4m3_encode(-std::nextafter(mid, 1e9f)), (c + 1) | 0x80) << mid;
  }
  const float inf = std::numeric_limits<float>::infinity();
  for (float big : {448.0f, 449.0f, 464.0f, 1e6f, inf}) {
    EXPECT_EQ(quant::fp8_e4m3_encode(big), 0x7E) << big;
    EXPECT_EQ(quant::fp8_e4m3_encode(-big), 0xFE) << big;
  }
  EXPECT_EQ(quant::fp8_e4m3_encode(std::numeric_limits<float>::quiet_NaN()), 0x7F);
  EXPECT_EQ(quant::fp8_e4m3_encode(std::ldexp(1.0f, -11)), 0x00);
  EXPECT_EQ(quant::fp8_e4m3_encode(-1e-30f), 0x80);  // −0
}

// ---- fake quantization ----

TEST(FakeQuant, ForwardIsDequantOfQuantWithThePerTensorScale) {
  for (double smax : {15.0, 224.0}) {
    for (double std : {1e-3, 1.0, 300.0}) {
      const at::Tensor x = osp::test::randn({7, 33}, 11, std);
      const at::Tensor y = quant::fake_quant(x, smax);
      EXPECT_TRUE(at::equal(y, fake_quant_by_loop(x, smax))) << smax << " " << std;
      EXPECT_LT(rel_error(y, x), 0.05);  // ≤ 3 mantissa bits near the top: a few percent
      EXPECT_GT(rel_error(y, x), 1e-4);
    }
  }
  // The amax element lands on ±smax·(1/scale) = ±amax exactly; zeros stay zeros (floor 1e-8).
  const at::Tensor x = at::tensor({0.3f, -2.5f, 1.1f});
  EXPECT_EQ(quant::fake_quant(x, 15.0)[1].item<float>(), -2.5f);
  EXPECT_TRUE(at::equal(quant::fake_quant(at::zeros({4}), 15.0), at::zeros({4})));
}

TEST(FakeQuant, Bf16FollowsTheReferenceDtypeChain) {
  const at::Tensor x = osp::test::randn({5, 40}, 12, 0.7).to(at::kBFloat16);
  const at::Tensor y = quant::fake_quant(x, 15.0);
  ASSERT_EQ(y.scalar_type(), at::kBFloat16);
  // amax, scale, x·scale and the division in bf16 (one rounding each), Q in float32.
  const at::Tensor xf = x.to(at::kFloat).contiguous();
  const float* p = xf.data_ptr<float>();
  float amax = 0;
  for (int64_t i = 0; i < xf.numel(); ++i) amax = std::max(amax, std::fabs(p[i]));
  const float scale = static_cast<float>(c10::BFloat16(15.0f / amax));
  const at::Tensor yf = y.to(at::kFloat).contiguous();
  for (int64_t i = 0; i < xf.numel(); ++i) {
    const float scaled = static_cast<float>(c10::BFloat16(p[i] * scale));
    const float expected = static_cast<float>(c10::BFloat16(quant::hif8_round(scaled) / scale));
    ASSERT_EQ(yf.data_ptr<float>()[i], expected) << i;
  }
}

TEST(FakeQuant, BackwardIsStraightThroughWithTheBackwardScale) {
  const quant::FakeQuantSpec spec;  // 15 forward, 224 backward
  const at::Tensor x = osp::test::randn({4, 9, 6}, 13).requires_grad_(true);
  const at::Tensor g = osp::test::randn({4, 9, 6}, 14, 1e-3);
  const at::Tensor y = quant::fake_quant_ste(x, spec);
  EXPECT_TRUE(at::equal(y.detach(), fake_quant_by_loop(x.detach(), 15.0)));
  y.backward(g);
  ASSERT_TRUE(x.grad().defined());
  EXPECT_TRUE(at::equal(x.grad(), fake_quant_by_loop(g, 224.0)));
  EXPECT_FALSE(at::equal(x.grad(), g));  // the backward really quantizes
}

TEST(FakeQuant, Hif8LinearForwardAndBackwardMatchFloat64Loops) {
  const quant::FakeQuantSpec spec;
  const int64_t B = 2, L = 3, in = 16, out = 8;
  at::Tensor x = osp::test::randn({B, L, in}, 21).requires_grad_(true);
  at::Tensor w = osp::test::randn({out, in}, 22, 0.2).requires_grad_(true);
  at::Tensor b = osp::test::randn({out}, 23, 0.1).requires_grad_(true);
  const at::Tensor dy = osp::test::randn({B, L, out}, 24, 0.01);
  const at::Tensor y = quant::hif8_linear(x, w, b, spec);
  y.backward(dy);

  const at::Tensor xq = fake_quant_by_loop(x.detach(), 15.0).to(at::kDouble).reshape({-1, in});
  const at::Tensor wq = fake_quant_by_loop(w.detach(), 15.0).to(at::kDouble);
  const at::Tensor gq = fake_quant_by_loop(dy, 224.0).to(at::kDouble).reshape({-1, out});
  const int64_t rows = B * L;
  at::Tensor y_ref = at::zeros({rows, out}, at::kDouble), dx_ref = at::zeros({rows, in}, at::kDouble);
  at::Tensor dw_ref = at::zeros({out, in}, at::kDouble), db_ref = at::zeros({out}, at::kDouble);
  auto X = xq.accessor<double, 2>(), W = wq.accessor<double, 2>(), G = gq.accessor<double, 2>();
  auto Y = y_ref.accessor<double, 2>(), DX = dx_ref.accessor<double, 2>(), DW = dw_ref.accessor<double, 2>();
  auto DB = db_ref.accessor<double, 1>();
  const at::Tensor bd = b.detach().to(at::kDouble);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t o = 0; o < out; ++o) {
      double acc = bd[o].item<double>();
      for (int64_t i = 0; i < in; ++i) {
        acc += X[r][i] * W[o][i];
        DX[r][i] += G[r][o] * W[o][i];
        DW[o][i] += G[r][o] * X[r][i];
      }
      Y[r][o] = acc;
      DB[o] += G[r][o];
    }
  }
  EXPECT_LT(rel_error(y.detach().reshape({rows, out}), y_ref), 1e-6);
  EXPECT_LT(rel_error(x.grad().reshape({rows, in}), dx_ref), 1e-6);
  EXPECT_LT(rel_error(w.grad(), dw_ref), 1e-6);
  EXPECT_LT(rel_error(b.grad(), db_ref), 1e-6);
}

// ---- 8-bit weights ----

TEST(Weight8, CodesAndScalesFollowTheConvention) {
  const at::Tensor w = osp::test::randn({24, 40}, 31, 0.05) * at::linspace(0.1, 10.0, 24).unsqueeze(1);
  for (auto format : {quant::WeightFormat::kHiF8, quant::WeightFormat::kFp8E4M3}) {
    const quant::QuantizedWeight q = quant::quantize_weight(w, format);
    const float target = static_cast<float>(quant::default_target(format));
    ASSERT_EQ(q.codes.sizes(), w.sizes());
    ASSERT_EQ(q.scale.sizes(), at::IntArrayRef({24}));
    const auto& table = quant::value_table(format);
    for (int64_t c = 0; c < 24; ++c) {
      float amax = 0;
      for (int64_t i = 0; i < 40; ++i) amax = std::max(amax, std::fabs(w[c][i].item<float>()));
      const float scale = amax / target;
      ASSERT_EQ(q.scale[c].item<float>(), scale) << c;
      for (int64_t i = 0; i < 40; ++i) {
        const float v = w[c][i].item<float>() / scale;
        const uint8_t code = format == quant::WeightFormat::kHiF8 ? quant::hif8_encode(v) : quant::fp8_e4m3_encode(v);
        ASSERT_EQ(q.codes[c][i].item<uint8_t>(), code) << c << "," << i;
      }
    }
    const at::Tensor d = quant::dequantize(q);
    EXPECT_LT(rel_error(d, w), 0.04) << quant::format_name(format);
    EXPECT_GT(rel_error(d, w), 1e-4);
    // Each channel's amax element gets the code of ±target.
    const at::Tensor where = w.abs().argmax(1);
    for (int64_t c = 0; c < 24; ++c) {
      EXPECT_EQ(std::fabs(table[q.codes[c][where[c].item<int64_t>()].item<uint8_t>()]), target) << c;
    }
    EXPECT_TRUE(at::allclose(d.abs().amax(1), w.abs().amax(1), 1e-6, 0));
  }
  EXPECT_THROW(quant::quantize_weight(w, quant::WeightFormat::kFp8E4M3, 1000.0), osp::Error);
  EXPECT_THROW(quant::parse_weight_format("int8"), osp::Error);
}

TEST(Weight8, DequantizingInRowBlocksIsTheWholeMatrixFormula) {
  // 600 rows: three row blocks, the last one partial. Each value is table[code]·scale in float32,
  // rounded once to the target dtype.
  const at::Tensor w = osp::test::randn({600, 40}, 17);
  for (const auto format : {quant::WeightFormat::kHiF8, quant::WeightFormat::kFp8E4M3}) {
    const quant::QuantizedWeight q = quant::quantize_weight(w, format);
    const auto& table = quant::value_table(format);
    const at::Tensor values =
        at::tensor(std::vector<float>(table.begin(), table.end())).index_select(0, q.codes.flatten().to(at::kLong)).view({600, 40});
    const at::Tensor expected = values * q.scale.to(at::kFloat).unsqueeze(1);
    for (const auto dtype : {at::kFloat, at::kBFloat16}) {
      EXPECT_TRUE(quant::dequantize(q, dtype).equal(expected.to(dtype))) << quant::format_name(format);
    }
  }
}

TEST(Weight8, DequantizingMatmulMatchesTheDenseProduct) {
  // 700 output channels with 300 inputs: three tiles, the last one partial.
  const at::Tensor w = osp::test::randn({700, 300}, 41, 0.05);
  const at::Tensor x = osp::test::randn({37, 300}, 42);
  const at::Tensor b = osp::test::randn({700}, 43, 0.1);
  for (auto format : {quant::WeightFormat::kHiF8, quant::WeightFormat::kFp8E4M3}) {
    const quant::QuantizedWeight q = quant::quantize_weight(w, format);
    for (bool bf16 : {false, true}) {
      const at::Tensor wd = quant::dequantize(q, bf16 ? at::kBFloat16 : at::kFloat).to(at::kDouble);
      const at::Tensor reference = at::addmm(b.to(at::kDouble), x.to(at::kDouble), wd.t());
      EXPECT_LT(rel_error(quant::dequant_linear(x, q, b, bf16), reference), 1e-6);
      EXPECT_LT(rel_error(quant::dequant_linear(x, q, {}, bf16), at::mm(x.to(at::kDouble), wd.t())), 1e-6);
    }
  }
}

TEST(Weight8, LinearHookRunsTheQuantizedWeightAndFreesTheDenseOne) {
  const int64_t in = 96, out = 300;
  for (osp::Precision precision : {kFp32, kBf16}) {
    osp::nn::LinearWeights layer(in, out, at::TensorOptions().dtype(precision.compute()));
    layer.weight.copy_(osp::test::randn({out, in}, 51, 0.05));
    layer.bias.copy_(osp::test::randn({out}, 52, 0.05));
    const int64_t dense_bytes = osp::nn::resident_weight_bytes(layer);
    const at::Tensor x = osp::test::randn({2, 5, in}, 53);
    const quant::QuantizedWeight q = quant::quantize_weight(layer.weight, quant::WeightFormat::kHiF8);
    const at::Tensor expected = osp::nn::linear(x, quant::dequantize(q, precision.compute()), layer.bias, precision);
    layer.set_quantized(q);
    EXPECT_EQ(layer.weight.numel(), 0);
    EXPECT_EQ(layer.named_parameters()["weight"].numel(), 0);  // the registered parameter too
    const at::Tensor y = osp::nn::linear(x, layer, precision);
    ASSERT_EQ(y.sizes(), at::IntArrayRef({2, 5, out}));
    EXPECT_LT(rel_error(y, expected), precision.reduced() ? 4e-3 : 1e-6) << precision.name();
    const int64_t bytes = osp::nn::resident_weight_bytes(layer);
    EXPECT_EQ(bytes, out * in + out * 4 + out * at::elementSize(precision.compute()));
    EXPECT_LT(bytes, dense_bytes);
  }
}

TEST(Weight8, FakeQuantHookIsHif8Linear) {
  osp::nn::LinearWeights layer(32, 24, at::TensorOptions().dtype(at::kFloat));
  layer.weight.copy_(osp::test::randn({24, 32}, 61, 0.1));
  layer.bias.copy_(osp::test::randn({24}, 62, 0.1));
  layer.fake_quant = quant::FakeQuantSpec{};
  const at::Tensor x = osp::test::randn({3, 32}, 63);
  const at::Tensor reference = quant::hif8_linear(x, layer.weight, layer.bias, *layer.fake_quant);
  EXPECT_LT(rel_error(osp::nn::linear(x, layer, kFp32), reference), 1e-6);
  EXPECT_GT(rel_error(osp::nn::linear(x, layer, kFp32), osp::nn::linear(x, layer.weight, layer.bias, kFp32)), 1e-4);
}

// ---- the DiT ----

// tests/reference_dit.h: dim 32, 2 heads, 2 layers, text_dim 24.
osp::dit::DiTConfig tiny_config() { return osp::test::tiny_config(32, 2); }

TEST(DiTQuant, ConfigFieldsParseValidateAndRoundTrip) {
  nlohmann::json j = tiny_config().to_json();
  EXPECT_FALSE(j.contains("quant"));
  j["quant"] = "hif8";
  j["quant_attn"] = nullptr;
  j["scale_max_forward"] = 15.0;
  const auto c = osp::dit::DiTConfig::from_json(j);
  EXPECT_EQ(c.quant, "hif8");
  EXPECT_EQ(c.quant_attn, "");
  EXPECT_EQ(c.scale_max_backward, 224.0);
  EXPECT_TRUE(c.unknown_fields.empty());
  const auto again = osp::dit::DiTConfig::from_json(c.to_json());
  EXPECT_EQ(again.quant, "hif8");
  EXPECT_EQ(again.quant_attn, "");
  j["quant"] = "int8";
  EXPECT_THROW(osp::dit::DiTConfig::from_json(j), osp::Error);
  j["quant"] = "hif8";
  j["scale_max_forward"] = 1e6;
  EXPECT_THROW(osp::dit::DiTConfig::from_json(j), osp::Error);
}

TEST(DiTQuant, LayerSetIsTheOspNextOne) {
  for (const char* name : {"blocks.0.self_attn.q", "blocks.12.cross_attn.o", "blocks.3.ffn.0", "blocks.3.ffn.2"}) {
    EXPECT_TRUE(quant::in_quantized_layer_set(name)) << name;
  }
  for (const char* name : {"text_embedding.0", "time_embedding.2", "time_projection.1", "head.head",
                           "blocks.0.self_attn.norm_q", "blocks.0.ffn.1", "patch_embedding"}) {
    EXPECT_FALSE(quant::in_quantized_layer_set(name)) << name;
  }
}

TEST(DiTQuant, FakeQuantForwardAndEightBitWeightsStayClose) {
  c10::InferenceMode inference;
  const osp::test::Inputs in = osp::test::random_inputs(tiny_config(), 1, 2, 4, 4, 8, 71);
  const auto build = [](const osp::dit::DiTConfig& config) {
    auto model = std::make_unique<osp::dit::WanDiT>(config, kFp32);
    osp::test::randomize(*model, 5);
    return model;
  };
  const at::Tensor reference = build(tiny_config())->forward(in.x, in.t, in.context);

  osp::dit::DiTConfig config = tiny_config();
  config.quant = config.quant_attn = "hif8";
  auto fq = build(config);  // the constructor applies config.quant
  EXPECT_EQ(osp::dit::apply_quant_config(*fq), 2 * 10);
  const double fq_error = rel_error(fq->forward(in.x, in.t, in.context), reference);
  std::cout << "tiny DiT, quant + quant_attn hif8: relative error " << fq_error << "\n";
  EXPECT_GT(fq_error, 1e-4);
  EXPECT_LT(fq_error, 0.1);

  for (auto format : {quant::WeightFormat::kHiF8, quant::WeightFormat::kFp8E4M3}) {
    auto q8 = build(tiny_config());
    const int64_t dense_bytes = osp::nn::resident_weight_bytes(*q8);
    EXPECT_EQ(osp::dit::quantize_weights_in_memory(*q8, format), 2 * 10);
    EXPECT_LT(osp::nn::resident_weight_bytes(*q8), dense_bytes);
    const double error = rel_error(q8->forward(in.x, in.t, in.context), reference);
    std::cout << "tiny DiT, " << quant::format_name(format) << " 8-bit weights: relative error " << error << "\n";
    EXPECT_GT(error, 1e-5) << quant::format_name(format);
    EXPECT_LT(error, 0.05) << quant::format_name(format);
  }
}

TEST(DiTQuant, AttentionInputsAreFakeQuantizedOnlyWithQuantAttn) {
  osp::dit::DiTConfig config = tiny_config();
  at::Tensor q = osp::test::randn({1, 6, 2, 32}, 81), k = osp::test::randn({1, 6, 2, 32}, 82),
             v = osp::test::randn({1, 6, 2, 32}, 83);
  const at::Tensor q0 = q.clone(), k0 = k.clone(), v0 = v.clone();
  osp::dit::fake_quant_attention_inputs(q, k, v, config);
  EXPECT_TRUE(at::equal(q, q0) && at::equal(k, k0) && at::equal(v, v0));
  config.quant_attn = "hif8";
  osp::dit::fake_quant_attention_inputs(q, k, v, config);
  EXPECT_TRUE(at::equal(q, fake_quant_by_loop(q0, 15.0)));
  EXPECT_TRUE(at::equal(k, fake_quant_by_loop(k0, 15.0)));
  EXPECT_TRUE(at::equal(v, fake_quant_by_loop(v0, 15.0)));
}

}  // namespace
