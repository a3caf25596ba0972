#include "osp/bench/attention_bench.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "osp/attention/dense.h"
#include "osp/attention/fused_cpu.h"
#include "osp/bench/timing.h"
#include "osp/core/runtime.h"
#include "osp/core/text_table.h"
#include "osp/core/torch_compat.h"

namespace osp::bench {

std::vector<AttentionBenchRow> time_attention_kernels(const AttentionBenchOptions& o) {
  c10::InferenceMode inference;
  at::Generator g = at::detail::createCPUGenerator(o.seed);
  const auto options = at::TensorOptions().dtype(at::kFloat);
  const int64_t B = o.batch, L = o.length, N = o.heads, D = o.head_dim;
  const bool cpu = o.device.is_cpu();
  const at::Tensor q = at::normal(0.0, 1.0, {B, L, N, D}, g, options).to(o.device);
  const at::Tensor k = at::normal(0.0, 1.0, {B, L, N, D}, g, options).to(o.device);
  const at::Tensor v = at::normal(0.0, 1.0, {B, L, N, D}, g, options).to(o.device);
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  const double flops = attention::attention_flops(B, L, L, N, D);

  std::vector<AttentionBenchRow> rows;
  // Peak extra memory (CPU): the RSS high-water mark over the runs above the RSS with the inputs in
  // place, less the result itself (every kernel must allocate its output). On CUDA every call is
  // waited for before the clock is read.
  const auto add = [&](std::string name, double work, double output_bytes, auto&& run) {
    reset_peak_rss();
    const double base = static_cast<double>(current_rss_bytes());
    const double seconds = time_mean_seconds(o.reps, [&] {
      run();
      compat::synchronize(o.device);
    });
    const double extra = cpu ? std::max(0.0, static_cast<double>(peak_rss_bytes()) - base - output_bytes) : -1.0;
    rows.push_back({std::move(name), seconds, work / seconds / 1e9, extra});
  };
  const double attention_out = static_cast<double>(q.numel()) * sizeof(float);
  if (cpu) {
    const attention::CpuIsa best = attention::best_cpu_isa();
    add("fused " + attention::cpu_isa_name(best), flops, attention_out,
        [&] { attention::fused_attention(q, k, v, scale, o.precision, {}, {}, best); });
    // In bf16, the other vector kernels this CPU runs, as same-run baselines of the automatic
    // choice: the float32-FMA kernel and the bf16 dot-product one (not kAuto's: see best_cpu_isa).
    if (o.precision.reduced())
      for (attention::CpuIsa other : {attention::CpuIsa::kAvx512, attention::CpuIsa::kAvx512Bf16})
        if (other != best && attention::cpu_isa_available(other))
          add("fused " + attention::cpu_isa_name(other), flops, attention_out,
              [&] { attention::fused_attention(q, k, v, scale, o.precision, {}, {}, other); });
    if (o.fused_scalar && best != attention::CpuIsa::kScalar)
      add("fused scalar", flops, attention_out,
          [&] { attention::fused_attention(q, k, v, scale, o.precision, {}, {}, attention::CpuIsa::kScalar); });
    if (o.math) add("math", flops, attention_out, [&] { attention::math_attention(q, k, v, scale, o.precision); });
    // LibTorch 2.x's own CPU attention (scaled_dot_product_attention): the baseline our fused kernel
    // has to beat in that build; absent from LibTorch 1.13 builds.
    if (o.math && compat::kHasSdpa)
      add(fmt::format("sdpa (LibTorch {})", compat::torch_version()), flops, attention_out,
          [&] { attention::attention(q, k, v, scale, o.precision, attention::DenseKernel::kSdpa); });
  } else {
    add(fmt::format("engine ({})", o.device.str()), flops, attention_out,
        [&] { attention::attention(q, k, v, scale, o.precision); });
    if (compat::kHasSdpa) {
      // PyTorch's own kernel as a PyTorch program calls it: [B, N, L, D] in the compute dtype.
      const auto heads_first = [&](const at::Tensor& x) { return x.to(o.precision.compute()).transpose(1, 2).contiguous(); };
      const at::Tensor qt = heads_first(q), kt = heads_first(k), vt = heads_first(v);
      add(fmt::format("sdpa reference (LibTorch {})", compat::torch_version()), flops, attention_out,
          [&] { compat::sdpa_or_undefined(qt, kt, vt, scale); });
    }
  }
  if (o.gemm) {
    // CPU: float32, the rate the fused kernel competes with; CUDA: the compute dtype's.
    const auto gemm_options = cpu ? options : options.dtype(o.precision.compute()).device(o.device);
    const auto random = [&](at::IntArrayRef shape) { return at::normal(0.0, 1.0, shape, g, options).to(gemm_options); };
    const int64_t M = std::min<int64_t>(L, 4096);
    const at::Tensor a = random({M, D}), bt = random({D, L}), p = random({M, L}), b = random({L, D});
    const double gemm_flops = 2.0 * static_cast<double>(M) * static_cast<double>(L) * static_cast<double>(D);
    add("gemm [L,D]x[D,L]", gemm_flops, static_cast<double>(M * L) * sizeof(float), [&] { at::matmul(a, bt); });
    add("gemm [L,L]x[L,D]", gemm_flops, static_cast<double>(M * D) * sizeof(float), [&] { at::matmul(p, b); });
  }
  return rows;
}

namespace {

// The Skiparse token layout: P² sub-sequences of L/P² tokens each, through the first kernel (the
// fused one on the CPU) and, on CUDA, the SDPA reference too.
std::vector<AttentionBenchRow> time_skiparse(AttentionBenchOptions o, int64_t sparse_ratio) {
  const int64_t sub = sparse_ratio * sparse_ratio;
  o.batch *= sub;
  o.length /= sub;
  o.math = false;
  o.gemm = false;
  o.fused_scalar = false;
  std::vector<AttentionBenchRow> rows = time_attention_kernels(o);
  if (o.device.is_cpu()) rows.resize(1);
  for (AttentionBenchRow& row : rows) row.kernel += fmt::format(" skiparse P={}", sparse_ratio);
  return rows;
}

}  // namespace

void run_attention_bench(AttentionBenchOptions options, const std::vector<std::string>& precisions,
                         int64_t sparse_ratio) {
  fmt::print("osp bench attention: B={} L={} heads={} head_dim={}, {}, {} threads\n\n", options.batch, options.length,
             options.heads, options.head_dim, options.device.str(), at::get_num_threads());
  const bool cpu = options.device.is_cpu();
  TextTable table({"precision", "kernel", "seconds", "GFLOP/s", "vs best GEMM",
               cpu ? "speedup vs fused full" : "speedup vs engine full", "peak extra MiB (beyond output)"});
  for (const auto& name : precisions) {
    options.precision = Precision::parse(name, "--precision");
    std::vector<AttentionBenchRow> rows = time_attention_kernels(options);
    if (sparse_ratio > 1) {
      const std::vector<AttentionBenchRow> sparse = time_skiparse(options, sparse_ratio);
      rows.insert(rows.end(), sparse.begin(), sparse.end());
    }
    // The baseline is the faster of the two GEMM shapes: LibTorch's best same-run rate.
    double gemm_rate = 0;
    for (const auto& row : rows)
      if (row.kernel.rfind("gemm", 0) == 0) gemm_rate = std::max(gemm_rate, row.gflops);
    const double fused_seconds = rows.front().seconds;
    for (const auto& row : rows)
      table.add_row({options.precision.name(), row.kernel, fmt::format("{:.3f}", row.seconds),
                     fmt::format("{:.1f}", row.gflops),
                     gemm_rate > 0 ? fmt::format("{:.2f}", row.gflops / gemm_rate) : "-",
                     fmt::format("{:.2f}", fused_seconds / row.seconds),
                     row.peak_extra_bytes < 0 ? "-" : fmt::format("{:.1f}", row.peak_extra_bytes / (1024.0 * 1024.0))});
  }
  table.print();
}

}  // namespace osp::bench
