#include "osp/bench/train_bench.h"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "osp/bench/bench_models.h"
#include "osp/bench/timing.h"
#include "osp/core/error.h"
#include "osp/core/runtime.h"
#include "osp/core/text_table.h"
#include "osp/train/dit_objective.h"
#include "osp/train/trainer.h"

namespace osp::bench {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

}  // namespace

train::TrainConfig train_bench_config(const std::string& name, const std::string& precision, int64_t frames,
                                      int64_t size, int steps, int64_t layers) {
  train::TrainConfig c;
  c.source = "bench";
  c.model = bench_dit_config(name, layers);
  train::SyntheticData d;
  d.samples = 4;
  d.channels = c.model.in_dim;
  d.frames = (frames - 1) / 4 + 1;
  d.height = d.width = size / 8;
  d.text_tokens = c.model.text_len;
  d.text_dim = c.model.text_dim;
  c.synthetic = d;
  c.precision = Precision::parse(precision, "--precision");
  c.steps = steps + 1;
  c.batch_size = 1;
  c.caption_dropout = 0.1;
  c.output_dir = (std::filesystem::temp_directory_path() / fmt::format("osp_bench_train_{}", ::getpid())).string();
  return c;
}

void run_train_bench(const TrainBenchOptions& o) {
  require(o.steps >= 1, "--steps must be at least 1, got {}", o.steps);
  require(o.frames >= 1 && (o.frames - 1) % 4 == 0, "--frames must be 4k+1, got {}", o.frames);
  require(o.tiny_size >= 16 && o.tiny_size % 16 == 0 && o.wide_size >= 16 && o.wide_size % 16 == 0,
          "--tiny-size and --wide-size must be positive multiples of 16");
  fmt::print("osp bench train: one optimizer step = forward + backward + AdamW + EMA, batch 1, synthetic latents of "
             "{} frames; baseline: the inference forward of the same input; {} threads\n",
             o.frames, at::get_num_threads());
  TextTable table({"config", "precision", "tokens", "params (M)", "train step (s)", "samples/s", "forward (s)",
               "step / forward", "peak RSS (MiB)"});
  for (const std::string& name : o.configs) {
    for (const std::string& precision : o.precisions) {
      const train::TrainConfig config =
          train_bench_config(name, precision, o.frames, name == "tiny" ? o.tiny_size : o.wide_size, o.steps);
      reset_peak_rss();
      auto objective = std::make_unique<train::DiTObjective>(config, train::open_samples(config));
      dit::WanDiT& model = objective->model();
      train::Trainer trainer(config, std::move(objective));
      trainer.step();  // warm-up
      const auto start = std::chrono::steady_clock::now();
      for (int s = 0; s < o.steps; ++s) trainer.step();
      const double step_s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / o.steps;
      const double peak = static_cast<double>(peak_rss_bytes()) / kMiB;
      // Baseline: the inference forward of one sample of the same shape.
      const auto& d = *config.synthetic;
      const at::Tensor x = at::randn({1, d.channels, d.frames, d.height, d.width});
      const at::Tensor t = at::full({1}, 500.0);
      const at::Tensor context = at::randn({1, d.text_tokens, d.text_dim});
      const double forward_s = time_mean_seconds(o.steps, [&] {
        c10::InferenceMode guard;
        model.forward(x, t, context);
      });
      const auto& m = config.model;
      const int64_t tokens = d.frames * (d.height / m.patch_size[1]) * (d.width / m.patch_size[2]);
      table.add_row({name, precision, std::to_string(tokens), fmt::format("{:.1f}", m.parameter_count() / 1e6),
                     fmt::format("{:.3f}", step_s), fmt::format("{:.2f}", 1.0 / step_s),
                     fmt::format("{:.3f}", forward_s), fmt::format("{:.2f}", step_s / forward_s),
                     fmt::format("{:.0f}", peak)});
      std::error_code ec;
      std::filesystem::remove_all(config.output_dir, ec);
    }
  }
  table.print();
}

}  // namespace osp::bench
