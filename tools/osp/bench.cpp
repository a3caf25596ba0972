// osp bench: speed and memory figures printed as tables (figure, same-run baseline, ratio).
// Benchmarks never run inside the test suite; tests never assert times.
#include "commands.h"
#include "osp/bench/attention_bench.h"
#include "osp/bench/dit_bench.h"
#include "osp/core/error.h"
#include "osp/core/runtime.h"

namespace osp::cli {

namespace {

struct AttentionBenchFlags {
  bench::AttentionBenchOptions options;
  std::vector<std::string> precisions{"fp32", "bf16"};
  int64_t sparse_ratio = 2;
  std::string device = "cpu";
};

void register_attention_bench(CLI::App& bench, const GlobalOptions& global) {
  auto flags = std::make_shared<AttentionBenchFlags>();
  CLI::App* cmd = bench.add_subcommand("attention", "Fused CPU attention vs the math path, GEMM and Skiparse (CUDA: vs SDPA)");
  cmd->add_option("--length", flags->options.length, "tokens L (queries = keys)")->capture_default_str();
  cmd->add_option("--heads", flags->options.heads, "attention heads")->capture_default_str();
  cmd->add_option("--head-dim", flags->options.head_dim, "head dimension")->capture_default_str();
  cmd->add_option("--precision", flags->precisions, "precisions to run (fp32, bf16)")->capture_default_str();
  cmd->add_option("--reps", flags->options.reps, "timed runs per kernel (after one warm-up)")->capture_default_str();
  cmd->add_option("--sparse-ratio", flags->sparse_ratio, "Skiparse stride P for the sparse row (1: none)")
      ->capture_default_str();
  cmd->add_flag("--no-math", [flags](int64_t) { flags->options.math = false; }, "skip the math path");
  cmd->add_option("--device", flags->device, "cpu, or cuda / cuda:N / auto: the engine's attention against PyTorch's SDPA")
      ->capture_default_str();
  cmd->callback([flags, &global] {
    apply_global_options(global);
    flags->options.device = parse_device(flags->device);
    const auto& o = flags->options;
    require(o.length >= 1 && o.heads >= 1 && o.head_dim >= 1 && o.reps >= 1 && flags->sparse_ratio >= 1,
            "--length, --heads, --head-dim, --reps and --sparse-ratio must be at least 1");
    require(o.length % (flags->sparse_ratio * flags->sparse_ratio) == 0, "--length must be a multiple of P² = {}",
            flags->sparse_ratio * flags->sparse_ratio);
    bench::run_attention_bench(flags->options, flags->precisions, flags->sparse_ratio);
  });
}

}  // namespace

void register_bench(CLI::App& app, const GlobalOptions& global) {
  CLI::App* bench = app.add_subcommand("bench", "Benchmarks (tables with same-run baselines)");
  bench->require_subcommand(1);

  auto dit = std::make_shared<bench::DitBenchOptions>();
  CLI::App* cmd = bench->add_subcommand("dit", "DiT forward time and FLOP rate against the same-run GEMM rate");
  cmd->add_option("--precision", dit->precisions, "precisions to run (bf16, fp32)")->capture_default_str();
  cmd->add_option("--model", dit->model, "width: 1.3b (dim 1536) or 14b (dim 5120, 40 heads, ffn 13824)")
      ->check(CLI::IsMember({"1.3b", "14b"}))
      ->capture_default_str();
  cmd->add_option("--layers", dit->layers, "DiT layers at that width")->capture_default_str();
  cmd->add_option("--frames", dit->latent_frames, "latent frames (video frames = 4·(latent − 1) + 1)")
      ->capture_default_str();
  cmd->add_option("--height", dit->height, "video height in pixels (latent = /8)")->capture_default_str();
  cmd->add_option("--width", dit->width, "video width in pixels (latent = /8)")->capture_default_str();
  cmd->add_option("--reps", dit->reps, "timed forwards per precision (after one warm-up)")->capture_default_str();
  cmd->add_option("--schedule", dit->schedules, "full and/or dual_end (every block sparse, P=2; needs even --layers)")
      ->check(CLI::IsMember({"full", "dual_end"}))
      ->capture_default_str();
  cmd->add_option("--device", dit->device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  cmd->add_flag("--load", dit->load, "also: write a random full-size 1.3B fp32 checkpoint once, load it as bf16, "
                                     "report load time and peak RSS against the file size");
  cmd->add_flag("--load-only", dit->load_only, "only the --load measurement");
  cmd->add_flag("--profile", dit->profile,
                "also: one more forward per row with the per-operation profile (GEMMs, attention, norms, RoPE, "
                "casts, layout copies; CPU only)");
  cmd->add_option("--load-dir", dit->load_dir, "where the random 1.3B checkpoint is kept")->capture_default_str();
  cmd->callback([dit, &global] {
    apply_global_options(global);
    bench::run_dit_bench(*dit);
  });
  register_attention_bench(*bench, global);
  register_text_bench(*bench, global);
  register_vae_bench(*bench, global);
  register_hif8_bench(*bench, global);
  register_comm_bench(*bench, global);
  register_generate_bench(*bench, global);
  register_train_bench(*bench, global);
  register_lora_bench(*bench, global);
  register_rl_bench(*bench, global);
  register_offload_bench(*bench, global);
  register_serve_bench(*bench, global);
}

}  // namespace osp::cli
