// osp convert: any supported checkpoint (safetensors, sharded set, torch zip .pth/.pt, diffusers or
// ComfyUI names, a training checkpoint folder, sharded or not) to one safetensors file, optionally
// casting floating-point tensors. Streamed: one converted tensor (or, from a sharded training
// checkpoint, one shard unit) in memory at a time beyond the mapped input.

#include "commands.h"
#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/core/progress.h"
#include "osp/io/convert.h"
#include "osp/train/sharded_checkpoint_source.h"

namespace osp::cli {

namespace {

struct ConvertOptions {
  std::string in;
  std::string out;
  std::string dtype;
  bool keep_names = false;
  bool ema = false;
};

// A training checkpoint folder gives its (consolidated) weights; anything else is read as a weights file.
io::ConvertPlan plan_for(const ConvertOptions& o) {
  if (std::shared_ptr<io::TensorSource> weights = train::open_checkpoint_weights(o.in, o.ema)) {
    return io::plan_conversion(std::move(weights), o.out, o.dtype, o.keep_names);
  }
  if (o.ema) fail_about(o.in, "--ema reads a training checkpoint's EMA weights; this is not a checkpoint folder (no state.json)");
  return io::plan_conversion(o.in, o.out, o.dtype, o.keep_names);
}

void run_convert(const ConvertOptions& o) {
  io::ConvertPlan plan = plan_for(o);
  log::info("converting {} tensors ({}) from {} to {}", plan.tensors.size(), plan.description, o.in, o.out);
  Progress progress("convert", static_cast<int64_t>(plan.tensors.size()));
  io::run_conversion(plan, [&progress] { progress.step(); });
  progress.finish();
  log::info("wrote {}", o.out);
}

}  // namespace

void register_convert(CLI::App& app, const GlobalOptions& global) {
  auto options = std::make_shared<ConvertOptions>();
  CLI::App* cmd = app.add_subcommand("convert", "Convert a checkpoint to one safetensors file (canonical Wan names)");
  cmd->add_option("in", options->in, "input: weights file, index file or directory")->required();
  cmd->add_option("out", options->out, "output .safetensors file (written atomically)")->required();
  cmd->add_option("--dtype", options->dtype, "cast floating-point tensors to bf16, f16 or f32 (default: keep)");
  cmd->add_flag("--ema", options->ema, "from a training checkpoint folder (sharded or not): its EMA weights instead of the weights");
  cmd->add_flag("--keep-names", options->keep_names, "keep the input's tensor names (default: canonical Wan names for DiT checkpoints)");
  cmd->callback([options, &global] {
    apply_global_options(global);
    run_convert(*options);
  });
}

}  // namespace osp::cli
