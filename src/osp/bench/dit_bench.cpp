#include "osp/bench/dit_bench.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "osp/bench/bench_models.h"
#include "osp/bench/table.h"
#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/core/precision.h"
#include "osp/core/progress.h"
#include "osp/core/runtime.h"
#include "osp/core/timer.h"
#include "osp/core/torch_compat.h"
#include "osp/io/safetensors_writer.h"
#include "osp/models/dit/flops.h"
#include "osp/models/dit/loader.h"
#include "osp/models/dit/model.h"
#include "osp/models/dit/random_weights.h"
#include "osp/models/dit/schedule.h"
#include "osp/nn/gemm.h"

namespace osp::bench {

namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

struct GemmRates {
  double engine = 0;  // the GEMM path the model's linears take (nn::matmul)
  double native = 0;  // LibTorch's at::matmul in the same dtype
};

// Rate of the [tokens × D]·[D × D] GEMM in `precision`, timed through the engine's path and
// through LibTorch's own matmul in that dtype.
GemmRates measure_gemm(int64_t tokens, int64_t dim, Precision precision) {
  at::Tensor a = at::randn({tokens, dim});
  at::Tensor b = at::randn({dim, dim});
  double flops = 2.0 * static_cast<double>(tokens) * dim * dim;
  GemmRates rates;
  rates.engine = flops / time_mean_seconds(3, [&] { nn::matmul(a, b, precision); }) / 1e9;
  at::Tensor an = a.to(precision.compute()), bn = b.to(precision.compute());
  rates.native = flops / time_mean_seconds(1, [&] { at::matmul(an, bn); }) / 1e9;
  return rates;
}

dit::DiTConfig bench_config(const DitBenchOptions& o) {
  dit::DiTConfig config = dit::DiTConfig::preset("wan2.1-t2v-1.3b");
  config.num_layers = o.layers;
  if (o.schedule != "full") {
    // Every block sparse (F = 0) at the released stride, to compare with the all-full stack.
    config.skiparse_model_type = o.schedule;
    config.sparse_ratio = 2;
    config.num_full_blocks = 0;
    config.validate();
  }
  return config;
}

void run_forward_table(const DitBenchOptions& o) {
  require(o.height % 16 == 0 && o.width % 16 == 0, "--height and --width must be multiples of 16 (VAE 8 x patch 2)");
  dit::DiTConfig config = bench_config(o);
  int64_t lh = o.height / 8, lw = o.width / 8;
  int64_t tokens = o.latent_frames * (lh / 2) * (lw / 2);
  double flops = dit::forward_flops(config, std::array<int64_t, 3>{o.latent_frames, lh / 2, lw / 2});
  fmt::print("osp bench dit: Wan2.1 1.3B width, {} layers ({}), latent {}x{}x{} ({} tokens), text {} rows\n",
             o.layers, dit::describe_schedule(config), o.latent_frames, lh, lw, tokens, config.text_len);
  fmt::print("machine: {}, {} threads, LibTorch {}, native bf16 GEMM: {}\n\n", cpu_model(), at::get_num_threads(),
             compat::torch_version(), nn::cpu_has_native_bf16() ? "yes" : "no (bf16 operands, fp32 GEMM)");

  Table table({"precision", "forward s", "GFLOP", "GFLOP/s", "GEMM GFLOP/s", "forward/GEMM",
               "at::matmul GFLOP/s"});
  c10::InferenceMode inference;
  for (const auto& name : o.precisions) {
    Precision precision = Precision::parse(name, "--precision");
    dit::WanDiT model(config, precision);
    dit::randomize_weights(model, 1234);
    at::Tensor x = at::randn({1, config.in_dim, o.latent_frames, lh, lw});
    at::Tensor t = at::full({1}, 500.0);
    at::Tensor context = at::randn({1, config.text_len, config.text_dim});
    log::info("bench dit: {} forward ({} timed)", precision.name(), o.reps);
    double seconds = time_mean_seconds(o.reps, [&] { model.forward(x, t, context); });
    double rate = flops / seconds / 1e9;
    GemmRates gemm = measure_gemm(tokens, config.dim, precision);
    table.add_row({precision.name(), fmt::format("{:.2f}", seconds), fmt::format("{:.1f}", flops / 1e9),
                   fmt::format("{:.1f}", rate), fmt::format("{:.1f}", gemm.engine),
                   fmt::format("{:.2f}", rate / gemm.engine), fmt::format("{:.1f}", gemm.native)});
  }
  table.print();
  fmt::print("target: bf16 forward/GEMM >= 0.60\n");
}

void run_load_table(const DitBenchOptions& o) {
  const std::string weights =
      ensure_random_checkpoint(o.load_dir, dit::DiTConfig::preset("wan2.1-t2v-1.3b"), io::DType::kF32);
  double file_bytes = static_cast<double>(std::filesystem::file_size(weights));
  bool reset = reset_peak_rss();
  size_t rss_before = peak_rss_bytes();
  auto start = std::chrono::steady_clock::now();
  auto model = dit::load_dit(o.load_dir, std::nullopt, Precision{PrecisionMode::kBf16}, c10::kCPU);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double peak = static_cast<double>(peak_rss_bytes());
  double limit = 0.6 * file_bytes + kGiB;

  fmt::print("\nosp bench dit --load: random Wan2.1 1.3B, fp32 safetensors -> bf16 weights{}\n",
             reset ? "" : " (peak RSS could not be reset: it includes the writing stage)");
  Table table({"file GiB", "load s", "GiB/s", "RSS before GiB", "peak RSS GiB", "limit 0.6*file+1 GiB", "peak/limit"});
  table.add_row({fmt::format("{:.2f}", file_bytes / kGiB), fmt::format("{:.2f}", seconds),
                 fmt::format("{:.2f}", file_bytes / kGiB / seconds), fmt::format("{:.2f}", rss_before / kGiB),
                 fmt::format("{:.2f}", peak / kGiB), fmt::format("{:.2f}", limit / kGiB),
                 fmt::format("{:.2f}", peak / limit)});
  table.print();
}

}  // namespace

void run_dit_bench(const DitBenchOptions& options) {
  require(options.layers >= 1 && options.reps >= 1 && options.latent_frames >= 1,
          "--layers, --reps and --frames must be at least 1");
  if (!options.load_only) run_forward_table(options);
  if (options.load || options.load_only) run_load_table(options);
}

}  // namespace osp::bench
