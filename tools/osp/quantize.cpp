// osp quantize: a DiT checkpoint to 8-bit weights (HiF8 or FP8 E4M3) in one safetensors file. The
// OSP-Next layer set (attention q, k, v, o and both FFN linears) becomes U8 / F8_E4M3 codes `<name>`
// plus float32 per-output-channel scales `<name>.scale` (weight ≈ decode(code) · scale); every other
// tensor is copied unchanged. Streamed: one tensor in memory at a time. docs/quantization.md.
#include "commands.h"
#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/core/progress.h"
#include "osp/core/timer.h"
#include "osp/quant/checkpoint.h"

namespace osp::cli {

namespace {

struct QuantizeCliOptions {
  std::string in;
  std::string out;
  std::string format = "hif8";
  double target = 0.0;
};

void run_quantize(const QuantizeCliOptions& o) {
  quant::QuantizeOptions options;
  options.format = quant::parse_weight_format(o.format);
  options.target = o.target;
  if (o.target < 0) fail_about("--target", "must be positive, got {}", o.target);
  StageTimer timer("quantize");
  std::unique_ptr<Progress> progress;
  const quant::QuantizeSummary s = quant::quantize_checkpoint(o.in, o.out, options, [&](int64_t done, int64_t total) {
    if (!progress) progress = std::make_unique<Progress>("quantize", total);
    progress->step();
    if (done == total) progress->finish();
  });
  timer.done();
  const double target = quant::resolve_target(options.format, o.target);
  log::info("{}: {} linear weights to {} (amax -> {}), {} tensors copied ({})", o.out, s.quantized,
            quant::format_name(options.format), target, s.copied, s.description);
  log::info("tensor bytes {:.1f} MiB -> {:.1f} MiB ({:.3f}x); weight error |W - W8| / |W|: mean {:.4f}, max {:.4f}",
            s.bytes_in / 1048576.0, s.bytes_out / 1048576.0, static_cast<double>(s.bytes_out) / s.bytes_in,
            s.mean_error, s.max_error);
}

}  // namespace

void register_quantize(CLI::App& app, const GlobalOptions& global) {
  auto options = std::make_shared<QuantizeCliOptions>();
  CLI::App* cmd = app.add_subcommand("quantize", "Write a DiT checkpoint with 8-bit weights (hif8 or fp8-e4m3)");
  cmd->add_option("in", options->in, "input: weights file, index file or directory (any supported layout)")->required();
  cmd->add_option("out", options->out, "output .safetensors file (written atomically; canonical Wan names)")->required();
  cmd->add_option("--format", options->format, "hif8 or fp8-e4m3")->capture_default_str();
  cmd->add_option("--target", options->target,
                  "value each output channel's amax maps to (default: 15 for hif8, 448 for fp8-e4m3)");
  cmd->callback([options, &global] {
    apply_global_options(global);
    run_quantize(*options);
  });
}

}  // namespace osp::cli
