// osp plan train: per-rank memory of a training step from shapes alone (src/osp/train/memory_plan.h).
#include <unistd.h>

#include <filesystem>

#include "commands.h"
#include "osp/core/error.h"
#include "osp/core/torch_compat.h"
#include "osp/train/memory_plan.h"
#include "osp/train/train_config.h"

namespace osp::cli {

namespace {

struct PlanOptions {
  std::string model = "14b";
  train::TrainShape shape;
  std::string shard = "full";
  std::string precision = "bf16";
  std::string device_memory;
  std::string attention = compat::kHasSdpa ? "fused" : "math";
};

// 1.3b and 14b are OSP-Next's; any DiT preset; a training config (.yaml) or a DiT config.json.
std::pair<dit::DiTConfig, std::string> resolve_model(const std::string& name) {
  if (name == "1.3b") return {dit::DiTConfig::preset("osp-next-1.3b"), "OSP-Next 1.3B"};
  if (name == "14b") return {dit::DiTConfig::preset("osp-next-14b"), "OSP-Next 14B"};
  for (const std::string& preset : dit::DiTConfig::preset_names()) {
    if (name == preset) return {dit::DiTConfig::preset(name), name};
  }
  const std::filesystem::path path(name);
  if (!std::filesystem::exists(path)) {
    fail_about("--model", "'{}' is neither 1.3b, 14b, a DiT preset nor a config file", name);
  }
  if (path.extension() == ".yaml" || path.extension() == ".yml") return {train::TrainConfig::from_file(name).model, name};
  return {dit::DiTConfig::from_file(name), name};
}

int64_t machine_memory() { return static_cast<int64_t>(::sysconf(_SC_PHYS_PAGES)) * ::sysconf(_SC_PAGESIZE); }

void run_plan(PlanOptions o) {
  std::tie(o.shape.model, o.shape.model_name) = resolve_model(o.model);
  if (o.shard != "full" && o.shard != "none") fail_about("--shard", "must be full or none, got '{}'", o.shard);
  o.shape.shard_full = o.shard == "full";
  o.shape.precision = Precision::parse(o.precision, "--precision");
  if (o.attention != "math" && o.attention != "fused") fail_about("--attention", "must be math or fused, got '{}'", o.attention);
  o.shape.attention_keeps_probabilities = o.attention == "math";
  const int64_t budget = o.device_memory.empty() ? machine_memory() : train::parse_memory_size(o.device_memory, "--device-memory");
  const train::MemoryPlan plan = train::plan_training_memory(o.shape);
  fmt::print("{}", train::format_plan(o.shape, plan, budget));
  if (o.device_memory.empty()) fmt::print("(the budget is this machine's memory; --device-memory sets another)\n");
}

}  // namespace

void register_plan(CLI::App& app, const GlobalOptions& global) {
  CLI::App* plan = app.add_subcommand("plan", "Plan resources before running");
  plan->require_subcommand(1);
  auto o = std::make_shared<PlanOptions>();
  CLI::App* cmd = plan->add_subcommand("train", "Per-rank memory of a training step: weights, gradients, optimizer, "
                                                 "gathered blocks, activations (docs/training.md \"Memory planner\")");
  cmd->add_option("--model", o->model, "1.3b | 14b (OSP-Next), a DiT preset, a training .yaml or a DiT config.json")
      ->capture_default_str();
  cmd->add_option("-W,--width", o->shape.width, "video width (multiple of 16)")->capture_default_str();
  cmd->add_option("-H,--height", o->shape.height, "video height (multiple of 16)")->capture_default_str();
  cmd->add_option("--frames", o->shape.frames, "video frames (4k+1)")->capture_default_str();
  cmd->add_option("--batch", o->shape.batch, "samples per data-parallel group per micro-step")->capture_default_str();
  cmd->add_option("--ranks", o->shape.ranks, "world size")->capture_default_str();
  cmd->add_option("--sp", o->shape.sp, "Ulysses degree (sequence parallel)")->capture_default_str();
  cmd->add_option("--ssp", o->shape.ssp, "skiparse_sp (SSP group size)")->capture_default_str();
  cmd->add_option("--shard", o->shard, "full (fully sharded) or none (replicated data parallel)")->capture_default_str();
  cmd->add_option("--lora", o->shape.lora_rank, "LoRA rank (0: full training)")->capture_default_str();
  cmd->add_flag("--checkpointing", o->shape.checkpointing, "activation checkpointing");
  cmd->add_option("--precision", o->precision, "bf16 or fp32 compute")->capture_default_str();
  cmd->add_option("--attention", o->attention,
                  "math (keeps the attention probabilities: this build's training path with LibTorch 1.13) or fused "
                  "(recomputes them: LibTorch 2.x scaled-dot-product attention, FlashAttention on GPUs)")
      ->capture_default_str();
  cmd->add_option("--device-memory", o->device_memory, "memory per rank to check the plan against (80G, 24GiB; default: this machine's)");
  cmd->callback([o, &global] {
    apply_global_options(global);
    run_plan(*o);
  });
}

}  // namespace osp::cli
