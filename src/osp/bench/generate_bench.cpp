#include "osp/bench/generate_bench.h"

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <optional>

#include "osp/core/log.h"
#include "osp/core/runtime.h"
#include "osp/core/text_table.h"
#include "osp/models/dit/config.h"
#include "osp/pipeline/text_to_video.h"
#include "osp/pipeline/tiny_bundle.h"

namespace osp::bench {
namespace {

namespace fs = std::filesystem;
using pipeline::GenerationReport;

// The Wan 2.1 1.3B DiT's widths (docs/dit.md "Configurations") with `layers` blocks, a one-layer umT5 of
// the 1.3B model's text width (4096), and the Wan 2.1 VAE.
pipeline::RandomBundleSpec wide_spec(const GenerateBenchOptions& o) {
  pipeline::RandomBundleSpec spec = pipeline::tiny_bundle_spec();
  spec.text_encoder = [](int64_t vocab) {
    t5::T5Config c;
    c.vocab_size = vocab;
    c.d_model = 4096;
    c.d_kv = 64;
    c.num_heads = 8;
    c.d_ff = 1024;
    c.num_layers = 1;
    return c;
  };
  spec.vae = vae::VaeConfig::wan21();
  const int64_t layers = o.wide_layers;
  spec.dit = [layers](const t5::T5Config& text, const vae::VaeConfig& vae) {
    dit::DiTConfig c = dit::DiTConfig::preset("wan2.1-t2v-1.3b");
    c.num_layers = layers;  // full attention: dual_end needs at least 8 layers (4 full blocks ≤ half)
    c.text_dim = text.d_model;
    c.in_dim = c.out_dim = vae.z_dim;
    return c;
  };
  spec.defaults.width = o.wide_width;
  spec.defaults.height = o.wide_height;
  spec.defaults.steps = o.wide_steps;
  spec.about = fmt::format("1.3B-width {}-layer random-weights bundle of osp bench generate", layers);
  return spec;
}

GenerationReport run_case(const pipeline::ModelBundle& bundle, const pipeline::GenerationParams& params,
                          const std::string& output, const std::string& precision, bool reuse) {
  pipeline::GenerationJob job;
  job.prompt = "a red circle moving left on a black background";
  job.output = output;
  pipeline::PipelineOptions options;
  options.precision = Precision::parse(precision);
  options.reuse_text_kv = reuse;
  reset_peak_rss();
  return pipeline::generate(bundle, params, {job}, options);
}

std::string seconds(double s) { return fmt::format("{:.2f}", s); }

void add_rows(TextTable& table, const std::string& name, const GenerationReport& cached, const GenerationReport& uncached) {
  for (const auto* r : {&cached, &uncached}) {
    const auto& s = r->seconds;
    table.add_row({name, r == &cached ? "reused" : "per step", seconds(s.text), seconds(s.load_dit), seconds(s.sampling),
                   seconds(s.load_vae), seconds(s.decode), seconds(s.write),
                   fmt::format("{:.2f}", static_cast<double>(r->peak_rss_bytes) / (1 << 30)),
                   fmt::format("{} / {}", r->text_kv_computed, r->text_kv_reused)});
  }
}

// Projection FLOPs the key/value reuse saves: every reused block pair is two [text_len × D]·[D × D]
// GEMMs (k and v), 2 FLOPs per multiply-add.
double saved_gflop(const GenerationReport& cached, const dit::DiTConfig& config) {
  const double per_pair = 2.0 * 2.0 * static_cast<double>(config.text_len * config.dim * config.dim);
  return static_cast<double>(cached.text_kv_reused) * per_pair / 1e9;
}

}  // namespace

void run_generate_bench(const GenerateBenchOptions& o) {
  const fs::path work = o.work_dir.empty() ? fs::temp_directory_path() / fmt::format("osp_bench_generate_{}", getpid())
                                           : fs::path(o.work_dir);
  fs::create_directories(work);
  struct Case {
    std::string name;
    pipeline::RandomBundleSpec spec;
    int64_t steps;
  };
  std::vector<Case> cases{{"tiny", pipeline::tiny_bundle_spec(), o.tiny_steps}};
  if (o.wide) cases.push_back({fmt::format("1.3B-width {} layers", o.wide_layers), wide_spec(o), o.wide_steps});

  TextTable stages({"bundle", "cross-attn K/V", "text s", "load DiT s", "sampling s", "load VAE s", "decode s", "write s",
                "peak RSS GiB", "K/V computed / reused"});
  TextTable saving({"bundle", "size", "steps", "sampling s, K/V per step", "sampling s, K/V reused", "ratio",
                "projection GFLOP saved"});
  for (const Case& c : cases) {
    const fs::path dir = work / c.name.substr(0, c.name.find(' '));
    fs::remove_all(dir);
    log::info("writing the {} bundle to {}", c.name, dir.string());
    pipeline::write_random_bundle(dir.string(), c.spec, {});
    const pipeline::ModelBundle bundle = pipeline::resolve_bundle(dir.string());
    pipeline::GenerationParams params = pipeline::defaults_for(bundle);
    params.frames = o.frames;
    if (c.steps > 0) params.steps = c.steps;
    const GenerationReport cached = run_case(bundle, params, (dir / "cached.mp4").string(), o.precision, true);
    const GenerationReport uncached = run_case(bundle, params, (dir / "uncached.mp4").string(), o.precision, false);
    add_rows(stages, c.name, cached, uncached);
    const dit::DiTConfig config = dit::DiTConfig::from_file((dir / "dit/config.json").string());
    saving.add_row({c.name, fmt::format("{}x{}x{}", params.width, params.height, params.frames),
                    std::to_string(params.steps), seconds(uncached.seconds.sampling), seconds(cached.seconds.sampling),
                    fmt::format("{:.3f}", uncached.seconds.sampling / cached.seconds.sampling),
                    fmt::format("{:.1f}", saved_gflop(cached, config))});
  }
  fmt::print("\nosp bench generate ({}; {} threads)\n", o.precision, at::get_num_threads());
  stages.print();
  fmt::print("\ncross-attention key/value reuse (baseline: recomputed every step, same run)\n");
  saving.print();
  if (o.work_dir.empty()) fs::remove_all(work);
}

}  // namespace osp::bench
