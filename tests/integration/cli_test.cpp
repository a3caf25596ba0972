// The `osp` binary end to end on the fixture checkpoints: every released layout loads to the same
// DiT (identical outputs), conversion preserves it, and bad input ends in "error:" and exit 1.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "../fixtures.h"
#include "run_osp.h"
#include "osp/io/safetensors_writer.h"
#include "osp/io/tensor_source.h"

namespace {

namespace fs = std::filesystem;
using osp::test::fixture;

// Tiny fixture dims (tests/fixtures/make_fixtures.py).
constexpr int64_t kInDim = 16, kTextDim = 24;

using osp::test::run_osp;
using osp::test::RunResult;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    osp::test::fixture_dir();
    dir_ = fs::temp_directory_path() / ("osp_cli_test_" + std::to_string(getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // x [2,16,2,4,6], t [2], context [2,5,24] (5 < text_len, so the zero padding path runs).
  std::string write_inputs(const std::string& name, at::ScalarType x_dtype = at::kFloat,
                           std::vector<int64_t> x_shape = {2, kInDim, 2, 4, 6}) {
    at::manual_seed(11);
    std::string file = path(name);
    osp::io::write_safetensors(file, {{"x", at::randn(x_shape).to(x_dtype)},
                                      {"t", at::tensor({137.0f, 815.5f})},
                                      {"context", at::randn({2, 5, kTextDim})}});
    return file;
  }

  at::Tensor forward(const std::string& dit_args, const std::string& in, const std::string& extra = "") {
    std::string out = path("v_" + std::to_string(counter_++) + ".safetensors");
    RunResult r = run_osp("dit-forward " + dit_args + " --in " + in + " --out " + out + " " + extra);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    if (r.exit_code != 0) return {};
    return osp::io::open_tensor_source(out)->load("v");
  }

  void expect_error(const std::string& args, const std::string& needle) { osp::test::expect_cli_error(args, needle); }

  fs::path dir_;
  int counter_ = 0;
};

TEST_F(CliTest, InfoDescribesEveryLayout) {
  // The .pth and ComfyUI files ship without a config.json: they are checked against the tiny one.
  std::string config = " --config " + fixture("wan_single/config.json");
  for (const std::string& layout : {fixture("wan_single"), fixture("wan_sharded"), fixture("wan_pth/model.pth") + config,
                                    fixture("OSP-Next-tiny"), fixture("diffusers/transformer"),
                                    fixture("comfy.safetensors") + config}) {
    RunResult r = run_osp("info " + layout);
    EXPECT_EQ(r.exit_code, 0) << layout << "\n" << r.output;
    EXPECT_NE(r.output.find("architecture: tiny"), std::string::npos) << layout << "\n" << r.output;
    EXPECT_NE(r.output.find("missing:      none"), std::string::npos) << layout << "\n" << r.output;
  }
}

TEST_F(CliTest, InfoReportsMissingKeysAgainstAConfig) {
  // The 2-layer tiny weights checked against a 3-layer config: block 2 is missing.
  std::ifstream in(fixture("wan_single/config.json"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  text.replace(text.find("\"num_layers\": 2"), 15, "\"num_layers\": 3");
  std::ofstream(path("config3.json")) << text;
  RunResult r = run_osp("info " + fixture("wan_single") + " --config " + path("config3.json"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("blocks.2.self_attn.q.weight"), std::string::npos) << r.output;
}

TEST_F(CliTest, EveryLayoutGivesTheSameForward) {
  std::string in = write_inputs("in.safetensors");
  at::Tensor reference = forward("--dit " + fixture("wan_single"), in);
  ASSERT_TRUE(reference.defined());
  EXPECT_EQ(reference.sizes(), at::IntArrayRef({2, kInDim, 2, 4, 6}));
  EXPECT_GT(reference.abs().max().item<float>(), 0.0f);
  std::string config = " --config " + fixture("wan_single/config.json");
  for (const std::string& dit : {"--dit " + fixture("wan_sharded"), "--dit " + fixture("wan_pth/model.pth") + config,
                                 "--dit " + fixture("OSP-Next-tiny"),
                                 // diffusers configs carry no text_len (the pipeline pads to 512)
                                 "--dit " + fixture("diffusers") + config,
                                 "--dit " + fixture("comfy.safetensors") + config}) {
    at::Tensor v = forward(dit, in);
    ASSERT_TRUE(v.defined()) << dit;
    EXPECT_TRUE(at::equal(v, reference)) << dit << " max diff " << (v - reference).abs().max().item<float>();
  }
}

TEST_F(CliTest, ConvertedCheckpointsGiveTheSameForward) {
  std::string in = write_inputs("in.safetensors");
  at::Tensor reference = forward("--dit " + fixture("wan_single"), in);
  std::string config = " --config " + fixture("wan_single/config.json");
  for (const char* layout : {"diffusers/transformer", "wan_pth/model.pth", "OSP-Next-tiny", "comfy.safetensors"}) {
    std::string out = path("converted.safetensors");
    RunResult r = run_osp(std::string("convert ") + fixture(layout) + " " + out + " --dtype bf16");
    ASSERT_EQ(r.exit_code, 0) << layout << "\n" << r.output;
    auto converted = osp::io::open_tensor_source(out);
    EXPECT_TRUE(converted->contains("blocks.1.norm3.weight")) << layout;
    EXPECT_EQ(osp::io::dtype_name(converted->meta("blocks.0.ffn.0.weight").dtype), std::string("BF16"));
    at::Tensor v = forward("--dit " + out + config, in);
    ASSERT_TRUE(v.defined()) << layout;
    EXPECT_TRUE(at::equal(v, reference)) << layout;
  }
}

TEST_F(CliTest, Bf16ForwardStaysCloseToFp32) {
  std::string in = write_inputs("in.safetensors");
  at::Tensor fp32 = forward("--dit " + fixture("wan_single"), in);
  at::Tensor bf16 = forward("--dit " + fixture("wan_single"), in, "--precision bf16");
  ASSERT_TRUE(bf16.defined());
  double relative = ((bf16 - fp32).norm() / fp32.norm()).item<double>();
  EXPECT_LT(relative, 3e-2);
  EXPECT_GT(relative, 0.0);  // the bf16 path really rounds
}

TEST_F(CliTest, SparseConfigRunsThroughDitForward) {
  // The tiny weights under an OSP-Next dual_end schedule (P = 2, every block sparse; the 2x3 token
  // grid pads to 4x4): the forward runs in both precisions and differs from full attention.
  std::ifstream in_config(fixture("wan_single/config.json"));
  nlohmann::json config = nlohmann::json::parse(in_config);
  config["skiparse_model_type"] = "dual_end";
  config["sparse_ratio"] = 2;
  config["num_full_blocks"] = 0;
  std::ofstream(path("sparse.json")) << config.dump();
  RunResult info = run_osp("info " + fixture("wan_single") + " --config " + path("sparse.json"));
  EXPECT_NE(info.output.find("dual_end P=2: token x1 (0); group x1 (1)"), std::string::npos) << info.output;

  std::string in = write_inputs("in.safetensors");
  at::Tensor full = forward("--dit " + fixture("wan_single"), in);
  at::Tensor sparse = forward("--dit " + fixture("wan_single") + " --config " + path("sparse.json"), in);
  at::Tensor sparse_bf16 =
      forward("--dit " + fixture("wan_single") + " --config " + path("sparse.json"), in, "--precision bf16");
  ASSERT_TRUE(sparse.defined() && sparse_bf16.defined());
  EXPECT_EQ(sparse.sizes(), full.sizes());
  EXPECT_TRUE(at::isfinite(sparse).all().item<bool>());
  EXPECT_GT(((sparse - full).norm() / full.norm()).item<double>(), 1e-3);
  EXPECT_LT(((sparse_bf16 - sparse).norm() / sparse.norm()).item<double>(), 3e-2);
}

TEST_F(CliTest, BadCheckpointsAreClearErrors) {
  std::string in = write_inputs("in.safetensors");
  expect_error("info " + path("does-not-exist.safetensors"), "does-not-exist");
  expect_error("info " + fixture("bad/evil.pth"), "forbidden global");
  expect_error("info " + fixture("bad"), "bad");

  // Truncated copy of a valid checkpoint.
  std::string weights = fixture("wan_single/diffusion_pytorch_model.safetensors");
  fs::copy_file(weights, path("truncated.safetensors"));
  fs::resize_file(path("truncated.safetensors"), fs::file_size(weights) / 2);
  expect_error("info " + path("truncated.safetensors"), "truncated.safetensors");

  // Weights without a config beside them.
  fs::create_directories(path("noconfig"));
  fs::copy_file(weights, path("noconfig/diffusion_pytorch_model.safetensors"));
  expect_error("dit-forward --dit " + path("noconfig") + " --in " + in + " --out " + path("v.safetensors"), "config");
  EXPECT_FALSE(fs::exists(path("v.safetensors")));
}

TEST_F(CliTest, BadInputsNameTheTensor) {
  std::string dit = "dit-forward --dit " + fixture("wan_single") + " --out " + path("v.safetensors") + " --in ";
  expect_error(dit + write_inputs("f64.safetensors", at::kDouble), "'x'");
  expect_error(dit + write_inputs("odd.safetensors", at::kFloat, {2, kInDim, 2, 5, 6}), "x");
  expect_error(dit + write_inputs("channels.safetensors", at::kFloat, {2, 3, 2, 4, 6}), "x");
  osp::io::write_safetensors(path("no_t.safetensors"), {{"x", at::randn({1, kInDim, 1, 4, 4})}});
  expect_error(dit + path("no_t.safetensors"), "'t'");
  EXPECT_FALSE(fs::exists(path("v.safetensors")));
}

TEST_F(CliTest, BadFlagsAreClearErrors) {
  std::string in = write_inputs("in.safetensors");
  std::string dit = "dit-forward --dit " + fixture("wan_single") + " --in " + in + " --out " + path("v.safetensors");
  expect_error(dit + " --precision fp16", "fp16");
  expect_error(dit + " --no-such-flag", "no-such-flag");
  if (!at::hasCUDA()) expect_error(dit + " --device cuda", "cuda");
  expect_error("convert " + fixture("wan_single") + " " + path("x.safetensors") + " --dtype int3", "int3");
  RunResult help = run_osp("dit-forward --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("--precision"), std::string::npos);
}

}  // namespace
