#include "osp/bench/text_bench.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>

#include "osp/bench/timing.h"
#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/core/precision.h"
#include "osp/core/runtime.h"
#include "osp/core/text_table.h"
#include "osp/core/torch_compat.h"
#include "osp/models/t5/config.h"
#include "osp/models/t5/encoder.h"
#include "osp/models/t5/random_weights.h"
#include "osp/nn/gemm.h"

namespace osp::bench {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

t5::T5Config bench_config(const TextBenchOptions& o) {
  t5::T5Config config = t5::T5Config::umt5_xxl();
  config.num_layers = o.layers;
  config.vocab_size = o.vocab;
  config.text_len = o.text_len;
  config.validate();
  return config;
}

// The same-run GEMM rate: [B·L, d_model]·[d_model, d_ff] (the FFN's shape, most of the FLOPs)
// through nn::matmul, the path the encoder's linears take.
double gemm_rate(const t5::T5Config& c, int64_t tokens, Precision precision) {
  const at::Tensor a = at::randn({tokens, c.d_model});
  const at::Tensor b = at::randn({c.d_model, c.d_ff});
  const double flops = 2.0 * static_cast<double>(tokens) * c.d_model * c.d_ff;
  return flops / time_mean_seconds(3, [&] { nn::matmul(a, b, precision); }) / 1e9;
}

}  // namespace

void run_text_bench(const TextBenchOptions& o) {
  require(o.layers >= 1 && o.batch >= 1 && o.text_len >= 1 && o.vocab >= 2 && o.reps >= 1,
          "--layers, --batch, --text-len, --reps must be at least 1 and --vocab at least 2");
  const t5::T5Config config = bench_config(o);
  const t5::T5Config full = t5::T5Config::umt5_xxl();
  const double flops = config.forward_flops(o.batch);
  fmt::print("osp bench text: umt5-xxl width (d_model {}, d_ff {}, {} heads x {}), {} of {} layers, random weights, "
             "batch {} x {} tokens, embedding {} rows (real: {})\n",
             config.d_model, config.d_ff, config.num_heads, config.d_kv, config.num_layers, full.num_layers, o.batch,
             o.text_len, config.vocab_size, full.vocab_size);
  fmt::print("machine: {} threads, LibTorch {}, native bf16 GEMM: {}\n\n", at::get_num_threads(), compat::torch_version(),
             nn::cpu_has_native_bf16() ? "yes" : "no (bf16 operands, fp32 GEMM)");

  TextTable table({"precision", "forward s", "GFLOP", "GFLOP/s", "GEMM GFLOP/s", "forward/GEMM", "s/layer",
               "projected 24-layer s", "weights GiB"});
  c10::InferenceMode inference;
  for (const std::string& name : o.precisions) {
    const Precision precision = Precision::parse(name, "--precision");
    t5::T5Encoder encoder(config, precision);
    t5::randomize_t5_weights(encoder, 1234, 0.02);
    at::Generator generator = at::detail::createCPUGenerator(5);
    const at::Tensor ids = at::randint(0, config.vocab_size, {o.batch, o.text_len}, generator, at::kLong);
    at::Tensor mask = at::ones({o.batch, o.text_len}, at::kLong);
    if (o.batch > 1) mask[o.batch - 1].slice(0, o.text_len / 2).zero_();  // one padded prompt, as in use
    log::info("bench text: {} forward ({} timed after one warm-up)", precision.name(), o.reps);
    const double seconds = time_mean_seconds(o.reps, [&] { encoder.forward(ids, mask); });
    const double rate = flops / seconds / 1e9;
    const double gemm = gemm_rate(config, o.batch * o.text_len, precision);
    // Embedding gather and final norm are negligible: the full encoder is 24 times one layer.
    const double per_layer = seconds / static_cast<double>(config.num_layers);
    table.add_row({precision.name(), fmt::format("{:.2f}", seconds), fmt::format("{:.1f}", flops / 1e9),
                   fmt::format("{:.1f}", rate), fmt::format("{:.1f}", gemm), fmt::format("{:.2f}", rate / gemm),
                   fmt::format("{:.2f}", per_layer), fmt::format("{:.1f}", per_layer * full.num_layers),
                   fmt::format("{:.2f}", static_cast<double>(encoder.weights().bytes()) / kGiB)});
  }
  table.print();
  fmt::print("target: forward/GEMM >= 0.60. Full encoder: {:.2f} TFLOP per batch, weights {:.1f} GiB in bf16\n",
             full.forward_flops(o.batch) / 1e12, static_cast<double>(full.parameter_count()) * 2 / kGiB);
}

}  // namespace osp::bench
