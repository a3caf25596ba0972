#include "osp/bench/dit_bench.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "osp/attention/skiparse.h"
#include "osp/bench/bench_models.h"
#include "osp/bench/timing.h"
#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/core/op_profile.h"
#include "osp/core/precision.h"
#include "osp/core/progress.h"
#include "osp/core/runtime.h"
#include "osp/core/text_table.h"
#include "osp/core/timer.h"
#include "osp/core/torch_compat.h"
#include "osp/io/safetensors_writer.h"
#include "osp/models/dit/flops.h"
#include "osp/models/dit/loader.h"
#include "osp/models/dit/model.h"
#include "osp/models/dit/random_weights.h"
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

// Mean seconds of `reps` calls of `fn` on `device` after one warm-up, each call waited for
// (compat::synchronize: CUDA work is asynchronous).
template <typename Fn>
double time_on_device(const c10::Device& device, int reps, Fn&& fn) {
  return time_mean_seconds(reps, [&] {
    fn();
    compat::synchronize(device);
  });
}

// Rate of the [tokens × D]·[D × D] GEMM in `precision` on `device`, timed through the engine's path
// and through LibTorch's own matmul in that dtype.
GemmRates measure_gemm(int64_t tokens, int64_t dim, Precision precision, const c10::Device& device) {
  at::Tensor a = at::randn({tokens, dim}).to(device);
  at::Tensor b = at::randn({dim, dim}).to(device);
  double flops = 2.0 * static_cast<double>(tokens) * dim * dim;
  GemmRates rates;
  rates.engine = flops / time_on_device(device, 3, [&] { nn::matmul(a, b, precision); }) / 1e9;
  at::Tensor an = a.to(precision.compute()), bn = b.to(precision.compute());
  rates.native = flops / time_on_device(device, 1, [&] { at::matmul(an, bn); }) / 1e9;
  return rates;
}

dit::DiTConfig bench_config(const DitBenchOptions& o, const std::string& schedule) {
  dit::DiTConfig config = dit::DiTConfig::preset(o.model == "14b" ? "wan2.1-t2v-14b" : "wan2.1-t2v-1.3b");
  config.num_layers = o.layers;
  if (schedule != "full") {
    // Every block sparse (F = 0) at the released stride, to compare with the all-full stack.
    config.skiparse_model_type = schedule;
    config.sparse_ratio = 2;
    config.num_full_blocks = 0;
  }
  config.validate();
  return config;
}

std::string device_description(const c10::Device& device) {
  if (device.is_cpu()) return fmt::format("{}, {} threads", cpu_model(), at::get_num_threads());
  return fmt::format("{} (host: {}, {} threads)", device.str(), cpu_model(), at::get_num_threads());
}

struct ForwardRow {
  std::string precision, schedule;
  int64_t tokens = 0;  // tokens a block holds: the Skiparse layouts' padded N for a sparse schedule
  double seconds = 0, flops = 0;
  GemmRates gemm;
  double profiled_seconds = 0;  // the forward of `ops` (--profile)
  profile::OpTotals ops;
};

// One more forward with the per-operation profile on.
template <typename Fn>
void profile_forward(ForwardRow& row, Fn&& forward) {
  profile::reset();
  profile::set_enabled(true);
  const auto start = std::chrono::steady_clock::now();
  forward();
  row.profiled_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  profile::set_enabled(false);
  row.ops = profile::totals();
}

// Where the time of each profiled forward goes: exclusive seconds per operation kind, their share of
// the forward, and the rate of the kinds that count FLOPs (attention: nominal, padding included).
void print_profile_table(const std::vector<ForwardRow>& rows) {
  TextTable table({"precision", "schedule", "operation", "calls", "seconds", "% of forward", "GFLOP", "GFLOP/s"});
  for (const ForwardRow& row : rows) {
    double attributed = 0;
    for (int k = 0; k < profile::kOpKinds; ++k) {
      const double seconds = row.ops.seconds[k], flops = row.ops.flops[k];
      attributed += seconds;
      table.add_row({row.precision, row.schedule, profile::op_kind_name(static_cast<profile::OpKind>(k)),
                     fmt::format("{}", row.ops.calls[k]), fmt::format("{:.3f}", seconds),
                     fmt::format("{:.1f}", 100.0 * seconds / row.profiled_seconds),
                     flops > 0 ? fmt::format("{:.1f}", flops / 1e9) : "-",
                     flops > 0 && seconds > 0 ? fmt::format("{:.1f}", flops / seconds / 1e9) : "-"});
    }
    const double rest = row.profiled_seconds - attributed;
    table.add_row({row.precision, row.schedule, "other (embeddings, head, unattributed)", "-",
                   fmt::format("{:.3f}", rest), fmt::format("{:.1f}", 100.0 * rest / row.profiled_seconds), "-", "-"});
    table.add_row({row.precision, row.schedule, "forward", "-", fmt::format("{:.3f}", row.profiled_seconds), "100.0",
                   "-", "-"});
  }
  fmt::print("\nPer-operation profile (one more forward per row; exclusive wall time, nested operations counted "
             "once):\n");
  table.print();
}

void run_forward_table(const DitBenchOptions& o) {
  require(o.height % 16 == 0 && o.width % 16 == 0, "--height and --width must be multiples of 16 (VAE 8 x patch 2)");
  const c10::Device device = parse_device(o.device);
  // Operations on a GPU return before they finish: wall time per operation would be launch time.
  require(!o.profile || device.is_cpu(), "--profile: the per-operation profile times CPU runs only, got --device {}",
          o.device);
  const int64_t lh = o.height / 8, lw = o.width / 8;
  const std::array<int64_t, 3> grid{o.latent_frames, lh / 2, lw / 2};
  const int64_t tokens = grid[0] * grid[1] * grid[2];
  const dit::DiTConfig width = bench_config(o, "full");
  fmt::print("osp bench dit: Wan2.1 {} width (dim {}, {} heads, ffn {}), {} layers, {} video frames {}x{} = latent "
             "{}x{}x{} ({} tokens), text {} rows\n",
             o.model == "14b" ? "14B" : "1.3B", width.dim, width.num_heads, width.ffn_dim, o.layers,
             (o.latent_frames - 1) * 4 + 1, o.width, o.height, o.latent_frames, lh, lw, tokens, width.text_len);
  fmt::print("machine: {}, LibTorch {}, native bf16 GEMM: {}\n\n", device_description(device), compat::torch_version(),
             nn::native_bf16_gemm(device) ? "yes" : "no (bf16 operands, fp32 GEMM)");

  std::vector<ForwardRow> rows;
  c10::InferenceMode inference;
  for (const auto& name : o.precisions) {
    const Precision precision = Precision::parse(name, "--precision");
    const GemmRates gemm = measure_gemm(tokens, width.dim, precision, device);
    for (const auto& schedule : o.schedules) {
      const dit::DiTConfig config = bench_config(o, schedule);
      ForwardRow row{precision.name(), schedule, tokens, 0, dit::forward_flops(config, grid), gemm, 0, {}};
      if (config.is_sparse()) {
        row.schedule = fmt::format("{} P={}", schedule, config.sparse_ratio);
        row.tokens = attention::SkiparseGeometry::make(grid, config.sparse_ratio).padded_tokens();
      }
      dit::WanDiT model(config, precision, device);
      dit::randomize_weights(model, 1234);
      const at::Tensor x = at::randn({1, config.in_dim, o.latent_frames, lh, lw}).to(device);
      const at::Tensor t = at::full({1}, 500.0).to(device);
      const at::Tensor context = at::randn({1, config.text_len, config.text_dim}).to(device);
      log::info("bench dit: {} {} forward on {} ({} timed)", precision.name(), schedule, device.str(), o.reps);
      row.seconds = time_on_device(device, o.reps, [&] { model.forward(x, t, context); });
      log::info("bench dit: {} {}: {:.3f} s per forward", precision.name(), row.schedule, row.seconds);
      if (o.profile) profile_forward(row, [&] { model.forward(x, t, context); });
      rows.push_back(row);
    }
  }

  // The baselines: the same-run GEMM rate, and the all-full stack of the same precision.
  TextTable table({"precision", "schedule", "tokens", "forward s", "s/block", "GFLOP", "GFLOP/s", "GEMM GFLOP/s",
               "forward/GEMM", "at::matmul GFLOP/s", "speedup vs full"});
  for (const ForwardRow& row : rows) {
    const double rate = row.flops / row.seconds / 1e9;
    std::string speedup = "-";
    for (const ForwardRow& full : rows)
      if (full.precision == row.precision && full.schedule == "full") speedup = fmt::format("{:.2f}", full.seconds / row.seconds);
    table.add_row({row.precision, row.schedule, fmt::format("{}", row.tokens), fmt::format("{:.3f}", row.seconds),
                   fmt::format("{:.3f}", row.seconds / static_cast<double>(o.layers)),
                   fmt::format("{:.1f}", row.flops / 1e9), fmt::format("{:.1f}", rate),
                   fmt::format("{:.1f}", row.gemm.engine), fmt::format("{:.2f}", rate / row.gemm.engine),
                   fmt::format("{:.1f}", row.gemm.native), speedup});
  }
  table.print();
  fmt::print("GFLOP: useful work (Skiparse padding excluded, docs/skiparse.md \"Cost\"); target: bf16 forward/GEMM >= 0.60\n");
  if (o.profile) print_profile_table(rows);
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
  TextTable table({"file GiB", "load s", "GiB/s", "RSS before GiB", "peak RSS GiB", "limit 0.6*file+1 GiB", "peak/limit"});
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
