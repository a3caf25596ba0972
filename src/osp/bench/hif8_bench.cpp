#include "osp/bench/hif8_bench.h"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>

#include <chrono>
#include <fstream>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "osp/bench/timing.h"
#include "osp/core/log.h"
#include "osp/core/precision.h"
#include "osp/core/text_table.h"
#include "osp/core/timer.h"
#include "osp/models/dit/model.h"
#include "osp/models/dit/random_weights.h"
#include "osp/nn/linear.h"
#include "osp/quant/checkpoint.h"
#include "osp/quant/fake_quant.h"
#include "osp/quant/fp8.h"
#include "osp/quant/hif8.h"
#include "osp/quant/hif8_kernels.h"
#include "osp/quant/table_decode.h"

namespace osp::bench {
namespace {

constexpr Precision kBf16{PrecisionMode::kBf16};
constexpr double kGB = 1e9;
constexpr double kMiB = 1024.0 * 1024.0;

std::string fixed(double v, int digits) { return fmt::format("{:.{}f}", v, digits); }

// Resident set size of this process (/proc/self/statm), bytes.
int64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * 4096;
}

// Runs `kernel(begin, end)` over n elements on all threads.
template <typename Kernel>
void over_threads(int64_t n, const Kernel& kernel) {
  quant::detail::parallel_spans(n, kernel);
}

// Kernel rows time the span kernels on preallocated buffers over all threads (vectorized against
// scalar); the tensor rows time the library calls as callers see them (allocation included).
void codec_rows(const Hif8BenchOptions& o, TextTable& table) {
  namespace d = quant::detail;
  const int64_t n = o.codec_elements;
  const at::Tensor x = at::randn({n}).mul_(3.0f);  // weight-like values over several binades
  const float* src = x.data_ptr<float>();
  at::Tensor codes = quant::hif8_encode(x);
  at::Tensor values = at::empty({n}, at::kFloat);
  uint8_t* c = codes.data_ptr<uint8_t>();
  float* v = values.data_ptr<float>();
  const double gb = 4.0 * n / kGB;
  const float* table_values = quant::hif8_table().data();
  const bool avx2 = d::hif8_avx2_available();
  const auto timed = [&](auto&& kernel) {
    return time_mean_seconds(o.reps, [&] { over_threads(n, kernel); });
  };
  const auto row = [&](const std::string& what, double seconds, double baseline, const std::string& base_name) {
    table.add_row({what, fixed(gb / seconds, 2) + " GB/s", fixed(gb / baseline, 2) + " GB/s (" + base_name + ")",
                   fixed(baseline / seconds, 2) + "x", ""});
  };

  const double enc_scalar = timed([&](int64_t b, int64_t e) { d::hif8_encode_scalar(src + b, c + b, e - b, false); });
  const double dec_scalar = timed([&](int64_t b, int64_t e) { d::decode_table_scalar(c + b, v + b, e - b, table_values); });
  const double q_scalar =
      timed([&](int64_t b, int64_t e) { d::hif8_scaled_round_scalar(src + b, v + b, e - b, 1.7f, false); });
  if (avx2) {
    row("HiF8 encode fp32->u8 (avx2 kernel)",
        timed([&](int64_t b, int64_t e) { d::hif8_encode_avx2(src + b, c + b, e - b, false); }), enc_scalar, "scalar");
    row("HiF8 decode u8->fp32 (avx2 kernel)",
        timed([&](int64_t b, int64_t e) { d::decode_table_avx2(c + b, v + b, e - b, table_values); }), dec_scalar,
        "scalar");
    row("HiF8 Q(x*s)/s fp32 (avx2 kernel)",
        timed([&](int64_t b, int64_t e) { d::hif8_scaled_round_avx2(src + b, v + b, e - b, 1.7f, false); }), q_scalar,
        "scalar");
  }
  row("hif8_encode(tensor)", time_mean_seconds(o.reps, [&] { quant::hif8_encode(x); }), enc_scalar, "scalar kernel");
  row("hif8_decode(tensor)", time_mean_seconds(o.reps, [&] { quant::hif8_decode(codes); }), dec_scalar, "scalar kernel");
  row("fake_quant(tensor, 15): amax + Q", time_mean_seconds(o.reps, [&] { quant::fake_quant(x, 15.0); }), q_scalar,
      "scalar Q kernel");
  row("fp8_e4m3_encode(tensor)", time_mean_seconds(o.reps, [&] { quant::fp8_e4m3_encode(x); }), enc_scalar,
      "HiF8 scalar kernel");
}

// The matmuls run interleaved (bf16, hif8, fp8, bf16, …) after one warm-up each and each keeps its
// best time, so that load from other processes on a shared machine hits all of them alike.
void matmul_rows(const Hif8BenchOptions& o, TextTable& table) {
  const int64_t m = o.m, k = o.k, n = o.n;
  const double flop = 2.0 * m * k * n;
  const auto options = at::TensorOptions().dtype(at::kBFloat16);
  std::vector<std::unique_ptr<nn::LinearWeights>> layers;
  layers.push_back(std::make_unique<nn::LinearWeights>(k, n, options));
  layers[0]->weight.copy_(at::randn({n, k}).mul_(0.02f));
  layers[0]->bias.copy_(at::randn({n}).mul_(0.02f));
  const std::vector<quant::WeightFormat> formats = {quant::WeightFormat::kHiF8, quant::WeightFormat::kFp8E4M3};
  for (quant::WeightFormat format : formats) {
    layers.push_back(std::make_unique<nn::LinearWeights>(k, n, options));
    layers.back()->bias.copy_(layers[0]->bias);
    layers.back()->set_quantized(quant::quantize_weight(layers[0]->weight, format));
  }
  const nn::GemmInput x = nn::prepare_gemm_input(at::randn({m, k}), kBf16);
  log::info("bench hif8: matmul [{}x{}]x[{}x{}], bf16 / hif8 / fp8-e4m3 weights interleaved, best of {}", m, k, k, n,
            o.reps);
  std::vector<double> best(layers.size(), 1e300);
  for (int rep = 0; rep <= o.reps; ++rep) {
    for (size_t i = 0; i < layers.size(); ++i) {
      const auto start = std::chrono::steady_clock::now();
      nn::linear(x, *layers[i], kBf16);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (rep > 0) best[i] = std::min(best[i], seconds);  // rep 0 warms up
    }
  }
  table.add_row({fmt::format("bf16 matmul [{}x{}]x[{}x{}]", m, k, k, n), fixed(best[0], 3) + " s",
                 fixed(flop / best[0] / kGB, 1) + " GFLOP/s", "1.00x", ""});
  for (size_t f = 0; f < formats.size(); ++f) {
    const double seconds = best[f + 1];
    table.add_row({fmt::format("{}-weight matmul (bf16 tiles)", quant::format_name(formats[f])),
                   fixed(seconds, 3) + " s", fixed(flop / seconds / kGB, 1) + " GFLOP/s",
                   fixed(best[0] / seconds, 2) + "x bf16 speed", ">= 0.80x"});
  }
}

// The layer-set weights drawn at random and quantized one layer at a time: their dense parameters
// are never written, so they never become resident (like loading an 8-bit checkpoint).
int64_t random_quantized_weights(dit::WanDiT& model, quant::WeightFormat format) {
  int64_t layers = 0;
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    auto* layer = dynamic_cast<nn::LinearWeights*>(item.value().get());
    if (layer == nullptr || !quant::in_quantized_layer_set(item.key())) continue;
    layer->set_quantized(quant::quantize_weight(at::randn(layer->weight.sizes()).mul_(0.02f), format));
    ++layers;
  }
  dit::randomize_weights(model, 7);  // everything else (the emptied weights have no elements)
  return layers;
}

// Resident parameter bytes of the DiT with 8-bit layer-set weights against bf16, plus the growth
// of the process RSS while each model lives (the 8-bit one is built first, its memory handed back
// to the system before the bf16 one).
void memory_rows(const Hif8BenchOptions& o, TextTable& table) {
  const dit::DiTConfig config = dit::DiTConfig::preset(o.memory_model);
  const int64_t rss0 = resident_bytes();
  int64_t quantized = 0, rss_quantized = 0, layers = 0;
  {
    StageTimer timer("build " + config.arch_name() + " with random hif8 weights");
    dit::WanDiT model(config, kBf16);
    layers = random_quantized_weights(model, quant::WeightFormat::kHiF8);
    timer.done();
    quantized = nn::resident_weight_bytes(model);
#if defined(__GLIBC__)
    malloc_trim(0);  // the float32 temporaries of the quantization
#endif
    rss_quantized = resident_bytes() - rss0;
  }
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
  const int64_t rss1 = resident_bytes();
  StageTimer timer("build " + config.arch_name() + " with random bf16 weights");
  dit::WanDiT model(config, kBf16);
  dit::randomize_weights(model, 7);
  timer.done();
  const int64_t dense = nn::resident_weight_bytes(model);
  const int64_t rss_dense = resident_bytes() - rss1;
  table.add_row({config.arch_name() + " weights, bf16", fixed(dense / kMiB, 1) + " MiB",
                 fmt::format("RSS +{:.0f} MiB", rss_dense / kMiB), "1.00x", ""});
  table.add_row({fmt::format("{} weights, hif8 ({} linears 8-bit)", config.arch_name(), layers),
                 fixed(quantized / kMiB, 1) + " MiB", fmt::format("RSS +{:.0f} MiB", rss_quantized / kMiB),
                 fixed(static_cast<double>(quantized) / dense, 3) + "x bf16", "<= 0.55x"});
}

}  // namespace

void run_hif8_bench(const Hif8BenchOptions& o) {
  c10::InferenceMode inference;
  fmt::print("osp bench hif8: {} threads, HiF8 kernels: {}\n\n", at::get_num_threads(), quant::hif8_cpu_kernel());
  TextTable table({"figure", "value", "baseline", "ratio", "target"});
  codec_rows(o, table);
  matmul_rows(o, table);
  if (!o.memory_model.empty()) memory_rows(o, table);
  table.print();
  fmt::print("GB/s: bytes of float32 per second (input of encode and FQ, output of decode). Matmuls: bf16 "
             "operands, fp32 accumulation, bias, bf16 output (nn/gemm.h); 8-bit weights decoded tile by tile.\n");
}

}  // namespace osp::bench
