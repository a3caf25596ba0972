#include "osp/bench/lora_bench.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <limits>

#include "osp/adapters/adapter.h"
#include "osp/adapters/trainable.h"
#include "osp/bench/bench_models.h"
#include "osp/bench/timing.h"
#include "osp/core/error.h"
#include "osp/core/text_table.h"
#include "osp/io/lora_file.h"
#include "osp/models/dit/random_weights.h"

namespace osp::bench {
namespace {

namespace fs = std::filesystem;

// A random rank-r LoRA on the default targets (B non-zero, unlike a fresh trainable one, so the
// adapter really computes).
io::LoraFile random_lora(dit::WanDiT& model, int64_t rank, uint64_t seed) {
  adapters::LoraTrainingSpec spec;
  spec.rank = rank;
  spec.alpha = static_cast<double>(rank);
  adapters::Adapter adapter = adapters::make_trainable_lora(model, spec, at::detail::createCPUGenerator(seed));
  io::LoraFile file = adapters::lora_file_from(adapters::peft_tensors(adapter), spec);
  at::Generator g = at::detail::createCPUGenerator(seed + 1);
  for (io::LoraModule& m : file.modules) m.up = at::normal(0.0, 0.01, m.up.sizes(), g);
  return file;
}

}  // namespace

void run_lora_bench(const LoraBenchOptions& o) {
  require(o.layers >= 1 && o.latent_frames >= 1 && o.rank >= 1 && o.reps >= 1,
          "--layers, --frames, --rank and --reps must be at least 1");
  require(o.height % 16 == 0 && o.width % 16 == 0 && o.height > 0 && o.width > 0,
          "--height and --width must be positive multiples of 16");
  const dit::DiTConfig config = bench_dit_config("1.3b-2layer", o.layers);
  const Precision precision = Precision::parse(o.precision, "--precision");
  dit::WanDiT model(config, precision);
  dit::randomize_weights(model, 1);
  const at::Tensor x = at::randn({1, config.in_dim, o.latent_frames, o.height / 8, o.width / 8});
  const at::Tensor t = at::full({1}, 500.0);
  const at::Tensor context = at::randn({1, config.text_len, config.text_dim});
  const int64_t tokens = o.latent_frames * (o.height / 16) * (o.width / 16);
  fmt::print("osp bench lora: 1.3B width, {} layers, {} tokens, {}, rank {} on q/k/v/o of self- and cross-attention; "
             "baseline: the merged model (no per-step adapter work); {} threads\n",
             o.layers, tokens, precision.name(), o.rank, at::get_num_threads());

  // Load / merge / attach cost of one adapter file.
  const fs::path dir = fs::temp_directory_path() / fmt::format("osp_bench_lora_{}", ::getpid());
  fs::create_directories(dir);
  const std::string path = (dir / "adapter.safetensors").string();
  io::write_lora_file(path, random_lora(model, o.rank, 7));
  io::LoraFile file;
  const double load_s = time_once_seconds([&] { file = io::read_lora_file(path); });
  adapters::Adapter probe(file, 1.0);
  const double merge_s = time_once_seconds([&] { probe.merge_into(model); });
  probe.unmerge_from(model);
  const double attach_s = time_once_seconds([&] { probe.attach(model); });
  probe.detach(model);
  TextTable cost({"adapter file (MiB)", "modules", "read (s)", "merge (s)", "attach (s)"});
  cost.add_row({fmt::format("{:.1f}", static_cast<double>(fs::file_size(path)) / (1024.0 * 1024.0)),
                std::to_string(file.modules.size()), fmt::format("{:.3f}", load_s), fmt::format("{:.3f}", merge_s),
                fmt::format("{:.4f}", attach_s)});
  cost.print();

  // Cases interleaved rep by rep (attaching and detaching costs microseconds), the fastest
  // forward of each counting: the adapters' cost is a few percent, below the drift of a shared
  // 2-core machine over the minutes a case takes.
  std::vector<adapters::Adapter> loras;
  for (int i = 0; i < 4; ++i) loras.emplace_back(random_lora(model, o.rank, 100 + i), 1.0);
  const std::vector<int> counts = {0, 1, 4};
  std::vector<double> best(counts.size(), std::numeric_limits<double>::infinity());
  const auto forward = [&] {
    c10::InferenceMode guard;
    model.forward(x, t, context);
  };
  forward();  // warm-up
  for (int r = 0; r < o.reps; ++r) {
    for (size_t c = 0; c < counts.size(); ++c) {
      for (int i = 0; i < counts[c]; ++i) loras[i].attach(model);
      best[c] = std::min(best[c], time_once_seconds(forward));
      for (int i = 0; i < counts[c]; ++i) loras[i].detach(model);
    }
  }
  TextTable table({"case", "forward (s)", "vs merged", "adapter cost"});
  for (size_t c = 0; c < counts.size(); ++c) {
    const std::string name = counts[c] == 0 ? "merged (0 runtime LoRAs)"
                                            : fmt::format("{} runtime LoRA{} (rank {})", counts[c],
                                                          counts[c] > 1 ? "s" : "", o.rank);
    table.add_row({name, fmt::format("{:.3f}", best[c]), fmt::format("{:.3f}", best[c] / best[0]),
                   c == 0 ? "-" : fmt::format("{:+.1f} %", 100.0 * (best[c] / best[0] - 1.0))});
  }
  table.print();
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace osp::bench
