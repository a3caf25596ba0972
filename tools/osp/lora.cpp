// osp merge-lora and osp lora extract (docs/lora.md): adapters merged into a base checkpoint, and
// a fine-tune turned into an adapter. The work is in src/osp/adapters; this file parses flags.
#include <memory>

#include "commands.h"
#include "osp/adapters/apply.h"
#include "osp/adapters/extract.h"
#include "osp/adapters/merge_checkpoint.h"
#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/core/progress.h"
#include "osp/io/lora_file.h"

namespace osp::cli {
namespace {

struct MergeOptions {
  std::string base;
  std::vector<std::string> loras;
  bool ema = false;
  std::string out;
};

void run_merge(const MergeOptions& o) {
  std::vector<adapters::LoraSpec> specs;
  for (const std::string& text : o.loras) specs.push_back(adapters::parse_lora_spec(text));
  const std::vector<adapters::LoadedLora> loras = adapters::load_loras(specs, o.ema);
  std::unique_ptr<Progress> progress;
  const adapters::MergeSummary summary = adapters::merge_checkpoint(o.base, loras, o.out, [&](int64_t, int64_t total) {
    if (!progress) progress = std::make_unique<Progress>("merge", total);
    progress->step();
  });
  if (progress) progress->finish();
  log::info("wrote {}: {} tensors, {} weights and {} biases merged{}", o.out, summary.tensors, summary.weights_merged,
            summary.biases_merged, summary.config_written.empty() ? "" : ", config " + summary.config_written);
}

struct ExtractOptions {
  std::string base, tuned, out;
  int64_t rank = 32;
};

void run_extract(const ExtractOptions& o) {
  if (o.rank < 1) fail_about("--rank", "must be at least 1, got {}", o.rank);
  const adapters::ExtractResult result = adapters::extract_lora(o.base, o.tuned, o.rank);
  if (result.file.modules.empty()) fail_about(o.tuned, "does not differ from the base in any linear layer");
  for (const adapters::ExtractedModule& m : result.modules) {
    log::debug("{}: rank {}, relative error {:.3e}", m.module, m.rank, m.relative_error);
  }
  io::write_lora_file(o.out, result.file);
  log::info("wrote {}: {} modules at rank ≤ {}, relative reconstruction error {:.4e} (‖D − B·A‖ / ‖D‖ over all)",
            o.out, result.file.modules.size(), o.rank, result.relative_error);
}

}  // namespace

void register_lora(CLI::App& app, const GlobalOptions& global) {
  auto merge = std::make_shared<MergeOptions>();
  CLI::App* cmd = app.add_subcommand("merge-lora", "Merge LoRA adapters into a DiT checkpoint (W' = W + scale·B·A)");
  cmd->add_option("--base", merge->base, "base DiT weights (file, index or directory)")->required();
  cmd->add_option("--lora", merge->loras, "adapter FILE[:SCALE] (repeatable; applied together)")->required();
  cmd->add_flag("--ema", merge->ema, "take the EMA adapter of a LoRA training or RL checkpoint folder");
  cmd->add_option("--out", merge->out, "output .safetensors (written atomically; config.json copied beside it)")
      ->required();
  cmd->callback([merge, &global] {
    apply_global_options(global);
    run_merge(*merge);
  });

  auto extract = std::make_shared<ExtractOptions>();
  CLI::App* lora = app.add_subcommand("lora", "LoRA adapter tools");
  lora->require_subcommand(1);
  CLI::App* ex = lora->add_subcommand("extract", "Turn a fine-tune into a LoRA (truncated SVD of each weight difference)");
  ex->add_option("--base", extract->base, "base DiT weights")->required();
  ex->add_option("--tuned", extract->tuned, "fine-tuned DiT weights (same architecture)")->required();
  ex->add_option("--rank", extract->rank, "rank of each adapted linear")->capture_default_str();
  ex->add_option("--out", extract->out, "output adapter .safetensors (PEFT names; adapter_config.json beside it)")
      ->required();
  ex->callback([extract, &global] {
    apply_global_options(global);
    run_extract(*extract);
  });
}

}  // namespace osp::cli
