#include "osp/bench/attention_bench.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <fmt/format.h>

#include <cmath>

#include "osp/attention/dense.h"
#include "osp/attention/fused_cpu.h"
#include "osp/bench/table.h"

namespace osp::bench {

std::vector<AttentionBenchRow> time_attention_kernels(const AttentionBenchOptions& o) {
  c10::InferenceMode inference;
  at::Generator g = at::detail::createCPUGenerator(o.seed);
  const auto options = at::TensorOptions().dtype(at::kFloat);
  const int64_t B = o.batch, L = o.length, N = o.heads, D = o.head_dim;
  const at::Tensor q = at::normal(0.0, 1.0, {B, L, N, D}, g, options);
  const at::Tensor k = at::normal(0.0, 1.0, {B, L, N, D}, g, options);
  const at::Tensor v = at::normal(0.0, 1.0, {B, L, N, D}, g, options);
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  const double flops = attention::attention_flops(B, L, L, N, D);

  std::vector<AttentionBenchRow> rows;
  const auto add = [&](std::string name, double seconds, double work) {
    rows.push_back({std::move(name), seconds, work / seconds / 1e9});
  };
  const attention::CpuIsa best = attention::best_cpu_isa();
  add("fused " + attention::cpu_isa_name(best),
      time_mean_seconds(o.reps, [&] { attention::fused_attention(q, k, v, scale, o.precision, {}, {}, best); }), flops);
  if (o.fused_scalar && best != attention::CpuIsa::kScalar)
    add("fused scalar", time_mean_seconds(o.reps, [&] {
          attention::fused_attention(q, k, v, scale, o.precision, {}, {}, attention::CpuIsa::kScalar);
        }), flops);
  if (o.math)
    add("math", time_mean_seconds(o.reps, [&] { attention::math_attention(q, k, v, scale, o.precision); }), flops);
  if (o.gemm) {
    const at::Tensor a = at::normal(0.0, 1.0, {L, D}, g, options), bt = at::normal(0.0, 1.0, {D, L}, g, options);
    const at::Tensor p = at::normal(0.0, 1.0, {L, L}, g, options);
    const double gemm_flops = 2.0 * static_cast<double>(L) * static_cast<double>(L) * static_cast<double>(D);
    add("gemm [L,D]x[D,L]", time_mean_seconds(o.reps, [&] { at::matmul(a, bt); }), gemm_flops);
    add("gemm [L,L]x[L,D]", time_mean_seconds(o.reps, [&] { at::matmul(p, a); }), gemm_flops);
  }
  return rows;
}

namespace {

// The fused kernel on the Skiparse token layout: P² sub-sequences of L/P² tokens each.
AttentionBenchRow time_skiparse(AttentionBenchOptions o, int64_t sparse_ratio) {
  const int64_t sub = sparse_ratio * sparse_ratio;
  o.batch *= sub;
  o.length /= sub;
  o.math = false;
  o.gemm = false;
  o.fused_scalar = false;
  AttentionBenchRow row = time_attention_kernels(o).front();
  row.kernel += fmt::format(" skiparse P={}", sparse_ratio);
  return row;
}

}  // namespace

void run_attention_bench(AttentionBenchOptions options, const std::vector<std::string>& precisions,
                         int64_t sparse_ratio) {
  fmt::print("osp bench attention: B={} L={} heads={} head_dim={}, {} threads\n\n", options.batch, options.length,
             options.heads, options.head_dim, at::get_num_threads());
  Table table({"precision", "kernel", "seconds", "GFLOP/s", "vs GEMM [L,D]x[D,L]", "speedup vs fused full"});
  for (const auto& name : precisions) {
    options.precision = Precision::parse(name, "--precision");
    std::vector<AttentionBenchRow> rows = time_attention_kernels(options);
    if (sparse_ratio > 1) rows.push_back(time_skiparse(options, sparse_ratio));
    double gemm_rate = 0;
    for (const auto& row : rows)
      if (row.kernel == "gemm [L,D]x[D,L]") gemm_rate = row.gflops;
    const double fused_seconds = rows.front().seconds;
    for (const auto& row : rows)
      table.add_row({options.precision.name(), row.kernel, fmt::format("{:.3f}", row.seconds),
                     fmt::format("{:.1f}", row.gflops),
                     gemm_rate > 0 ? fmt::format("{:.2f}", row.gflops / gemm_rate) : "-",
                     fmt::format("{:.2f}", fused_seconds / row.seconds)});
  }
  table.print();
}

}  // namespace osp::bench
