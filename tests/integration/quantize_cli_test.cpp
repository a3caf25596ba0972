// `osp quantize` end to end on a random tiny DiT written here in bf16: the codes and scales follow
// the stated convention, other tensors are copied unchanged, the file is ≤ 0.52× the bf16 file,
// `osp info` reports the format, and `dit-forward` on the 8-bit file stays within 5% of bf16.
#include <gtest/gtest.h>

#include <c10/core/InferenceMode.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "../fixtures.h"
#include "osp/io/safetensors_writer.h"
#include "osp/io/tensor_source.h"
#include "osp/models/dit/model.h"
#include "osp/models/dit/random_weights.h"
#include "osp/quant/fp8.h"
#include "osp/quant/hif8.h"
#include "run_osp.h"

namespace {

namespace fs = std::filesystem;
using osp::test::run_osp;
using osp::test::RunResult;

// Tiny, but with the 1.3B model's proportions where they matter for the file size: the quantized
// linears dominate (their per-channel scales cost 4 bytes per output channel, small against `dim`
// bytes), so the 8-bit file lands near the 1.3B model's 0.51x of bf16.
osp::dit::DiTConfig tiny_config() {
  osp::dit::DiTConfig c;
  c.dim = 160;
  c.ffn_dim = 5120;
  c.num_heads = 2;
  c.num_layers = 10;
  c.freq_dim = 16;
  c.text_dim = 16;
  c.text_len = 16;
  return c;
}

// One bf16 model, its config, the inputs and its bf16 dit-forward, shared by the suite.
class QuantizeCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("osp_quantize_test_" + std::to_string(getpid()));
    fs::create_directories(dir_);
    write_model();
    at::manual_seed(3);
    osp::io::write_safetensors(path("in.safetensors"), {{"x", at::randn({1, 16, 2, 4, 6})},
                                                        {"t", at::tensor({400.0f})},
                                                        {"context", at::randn({1, 7, 16})}});
    reference_ = forward(path("model.safetensors"));
  }
  static void TearDownTestSuite() {
    reference_ = at::Tensor();
    fs::remove_all(dir_);
  }

  static std::string path(const std::string& name) { return (dir_ / name).string(); }

  // model.safetensors (bf16, canonical names) and config.json beside it.
  static void write_model() {
    c10::InferenceMode inference;
    osp::dit::WanDiT model(tiny_config(), osp::Precision{osp::PrecisionMode::kFp32});
    osp::dit::randomize_weights(model, 99, 0.05);
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    for (const auto& item : model.named_parameters()) tensors.push_back({item.key(), item.value().to(at::kBFloat16)});
    osp::io::write_safetensors(path("model.safetensors"), tensors);
    std::ofstream(path("config.json")) << tiny_config().to_json().dump(2);
  }

  // v of a bf16 dit-forward of `weights` on the suite's inputs.
  static at::Tensor forward(const std::string& weights, const std::string& extra = "") {
    const std::string out = path("v" + std::to_string(counter_++) + ".safetensors");
    const RunResult r = run_osp("dit-forward --dit " + weights + " --config " + path("config.json") + " --in " +
                                path("in.safetensors") + " --out " + out + " --precision bf16 " + extra);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    if (r.exit_code != 0) return {};
    return osp::io::open_tensor_source(out)->load("v");
  }

  static void expect_error(const std::string& args, const std::string& needle) {
    osp::test::expect_cli_error(args, needle);
  }

  static double relative(const at::Tensor& a, const at::Tensor& b) {
    return ((a.to(at::kDouble) - b.to(at::kDouble)).norm() / b.to(at::kDouble).norm()).item<double>();
  }

  static inline fs::path dir_;
  static inline int counter_ = 0;
  static inline at::Tensor reference_;
};

TEST_F(QuantizeCliTest, HiF8RoundTripFollowsTheConventionAndStaysClose) {
  const std::string q = path("hif8.safetensors");
  const RunResult r = run_osp("quantize " + path("model.safetensors") + " " + q);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_LE(static_cast<double>(fs::file_size(q)), 0.52 * static_cast<double>(fs::file_size(path("model.safetensors"))));

  auto bf16 = osp::io::open_tensor_source(path("model.safetensors"));
  auto quantized = osp::io::open_tensor_source(q);
  int64_t codes = 0, copied = 0;
  for (const std::string& name : bf16->names()) {
    ASSERT_TRUE(quantized->contains(name)) << name;
    const bool layer_set = name.find("_attn.") != std::string::npos && name.find("norm_") == std::string::npos &&
                           name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0;
    const bool ffn = name.find(".ffn.") != std::string::npos && name.compare(name.size() - 7, 7, ".weight") == 0;
    if (!layer_set && !ffn) {
      EXPECT_EQ(quantized->meta(name).dtype, bf16->meta(name).dtype) << name;
      EXPECT_TRUE(at::equal(quantized->load(name), bf16->load(name))) << name;
      ++copied;
      continue;
    }
    ++codes;
    EXPECT_EQ(osp::io::dtype_name(quantized->meta(name).dtype), std::string("U8")) << name;
    ASSERT_TRUE(quantized->contains(name + ".scale")) << name;
    const at::Tensor w = bf16->load(name, at::kFloat);
    const at::Tensor scale = quantized->load(name + ".scale");
    ASSERT_EQ(scale.scalar_type(), at::kFloat);
    // scale = channel amax / 15; code = encode_TA(weight / scale); weight ≈ decode(code)·scale.
    EXPECT_TRUE(at::equal(scale, w.abs().amax(1) / 15.0f)) << name;
    const at::Tensor c = quantized->load(name);
    EXPECT_TRUE(at::equal(c, osp::quant::hif8_encode(w / scale.unsqueeze(1)))) << name;
    EXPECT_LT(relative(osp::quant::hif8_decode(c) * scale.unsqueeze(1), w), 0.04) << name;
  }
  EXPECT_EQ(codes, 10 * 10);
  EXPECT_GT(copied, 0);

  const RunResult info = run_osp("info " + q + " --config " + path("config.json"));
  EXPECT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("weights:      hif8 8-bit (100 linears"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("missing:      none"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("unexpected:   none"), std::string::npos) << info.output;

  const at::Tensor v = forward(q);
  ASSERT_TRUE(reference_.defined() && v.defined());
  const double error = relative(v, reference_);
  std::cout << "hif8 weights: dit-forward relative error vs bf16 " << error << ", file "
            << static_cast<double>(fs::file_size(q)) / fs::file_size(path("model.safetensors")) << "x bf16\n";
  EXPECT_LT(error, 0.05);
  EXPECT_GT(error, 1e-4);  // the 8-bit weights really are used
}

TEST_F(QuantizeCliTest, Fp8E4M3GoesThroughTheSamePath) {
  const std::string q = path("fp8.safetensors");
  const RunResult r = run_osp("quantize --format fp8-e4m3 " + path("model.safetensors") + " " + q);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto quantized = osp::io::open_tensor_source(q);
  const std::string name = "blocks.3.ffn.2.weight";
  EXPECT_EQ(osp::io::dtype_name(quantized->meta(name).dtype), std::string("F8_E4M3"));
  const at::Tensor w = osp::io::open_tensor_source(path("model.safetensors"))->load(name, at::kFloat);
  const at::Tensor scale = quantized->load(name + ".scale");
  EXPECT_TRUE(at::equal(scale, w.abs().amax(1) / 448.0f));
  // The reader decodes F8_E4M3 to float32 (LibTorch 1.13) or holds float8 (2.x): values either way.
  const at::Tensor values = quantized->load(name, at::kFloat);
  EXPECT_TRUE(at::equal(values, osp::quant::fp8_e4m3_decode(osp::quant::fp8_e4m3_encode(w / scale.unsqueeze(1)))));

  const RunResult info = run_osp("info " + q + " --config " + path("config.json"));
  EXPECT_NE(info.output.find("fp8-e4m3 8-bit (100 linears"), std::string::npos) << info.output;
  const double error = relative(forward(q), reference_);
  std::cout << "fp8-e4m3 weights: dit-forward relative error vs bf16 " << error << "\n";
  EXPECT_LT(error, 0.05);
  EXPECT_GT(error, 1e-4);
}

TEST_F(QuantizeCliTest, ReadsOtherLayoutsAndWritesCanonicalNames) {
  // The diffusers fixture (tests/fixtures/make_fixtures.py: 2 layers) in, canonical names out.
  const std::string q = path("diffusers_hif8.safetensors");
  const RunResult r = run_osp("quantize " + osp::test::fixture("diffusers/transformer") + " " + q);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto quantized = osp::io::open_tensor_source(q);
  EXPECT_TRUE(quantized->contains("blocks.1.ffn.0.weight.scale"));
  EXPECT_TRUE(quantized->contains("blocks.1.norm3.weight"));
  const RunResult info = run_osp("info " + q + " --config " + osp::test::fixture("wan_single/config.json"));
  EXPECT_NE(info.output.find("hif8 8-bit (20 linears"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("missing:      none"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("unexpected:   none"), std::string::npos) << info.output;
}

TEST_F(QuantizeCliTest, FakeQuantizedForwardAndBadInput) {
  const at::Tensor fq = forward(path("model.safetensors"), "--quant hif8");
  ASSERT_TRUE(fq.defined());
  const double error = relative(fq, reference_);
  std::cout << "--quant hif8 (fake quantization): relative error vs bf16 " << error << "\n";
  EXPECT_GT(error, 1e-4);
  EXPECT_LT(error, 0.1);

  const std::string in = path("model.safetensors");
  expect_error("quantize " + in + " " + path("x.safetensors") + " --format int4", "int4");
  expect_error("quantize " + in + " " + path("x.safetensors") + " --target 1e6", "--target");
  expect_error("quantize " + path("nope.safetensors") + " " + path("x.safetensors"), "nope.safetensors");
  EXPECT_FALSE(fs::exists(path("x.safetensors")));
  ASSERT_EQ(run_osp("quantize " + in + " " + path("q.safetensors")).exit_code, 0);
  expect_error("quantize " + path("q.safetensors") + " " + path("x.safetensors"), "already holds 8-bit weights");
  expect_error("dit-forward --dit " + in + " --config " + path("config.json") + " --in " + path("in.safetensors") +
                   " --out " + path("v.safetensors") + " --quant int8",
               "--quant");
}

}  // namespace
