// osp plan train: per-rank memory of a training step from shapes alone (src/osp/train/memory_plan.h).
// osp plan generate: the memory of each stage of a generation per policy, from a bundle's configs
// and tensor tables (src/osp/pipeline/generation_memory_plan.h).
#include <filesystem>

#include "commands.h"
#include "osp/core/error.h"
#include "osp/core/memory_size.h"
#include "osp/core/runtime.h"
#include "osp/core/torch_compat.h"
#include "osp/pipeline/bundle.h"
#include "osp/pipeline/text_to_video.h"
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

void run_plan(PlanOptions o) {
  std::tie(o.shape.model, o.shape.model_name) = resolve_model(o.model);
  if (o.shard != "full" && o.shard != "none") fail_about("--shard", "must be full or none, got '{}'", o.shard);
  o.shape.shard_full = o.shard == "full";
  o.shape.precision = Precision::parse(o.precision, "--precision");
  if (o.attention != "math" && o.attention != "fused") fail_about("--attention", "must be math or fused, got '{}'", o.attention);
  o.shape.attention_keeps_probabilities = o.attention == "math";
  const int64_t budget = o.device_memory.empty() ? machine_memory_bytes() : parse_memory_size(o.device_memory, "--device-memory");
  const train::MemoryPlan plan = train::plan_training_memory(o.shape);
  fmt::print("{}", train::format_plan(o.shape, plan, budget));
  if (o.device_memory.empty()) fmt::print("(the budget is this machine's memory; --device-memory sets another)\n");
}

struct GeneratePlanOptions {
  std::string model;
  pipeline::BundleDefaults flags;  // -W, -H, --frames, --cfg given; the model's defaults fill the rest
  std::string precision = "bf16";
  std::string quant;
  std::string offload = "auto";
  std::string cfg_batch = "auto";
  std::string tile_size = "auto";
  int64_t tile_overlap = 64;
  std::string max_memory;
};

// Every fixed policy's plan, then the one the request resolves to for the budget.
void run_generate_plan(const GeneratePlanOptions& o) {
  const pipeline::ModelBundle bundle = pipeline::resolve_bundle(o.model);
  const pipeline::GenerationParams params = pipeline::overlay(pipeline::defaults_for(bundle), o.flags);
  const Precision precision = Precision::parse(o.precision, "--precision");
  pipeline::check_model_and_params(bundle, params);
  const pipeline::GenerationFootprint footprint = pipeline::read_footprint(bundle, precision, o.quant);
  const pipeline::GenerationShape shape{params.width, params.height, params.frames, params.guidance, precision};
  const auto runtime = static_cast<int64_t>(current_rss_bytes());
  const int64_t budget = o.max_memory.empty() ? available_memory_bytes() + runtime
                                              : parse_memory_size(o.max_memory, "--max-memory");
  const pipeline::CfgBatch cfg_batch = pipeline::parse_cfg_batch(o.cfg_batch);
  fmt::print("plan: {} ({}), {}×{}, {} frames, guidance {}, {}; DiT weights {}\n", o.model, bundle.layout, params.width,
             params.height, params.frames, params.guidance, precision.name(), footprint.dit_storage);
  fmt::print("budget: {} ({})\n\n", format_bytes(budget), o.max_memory.empty() ? "available memory" : "--max-memory");
  for (const pipeline::Offload offload : {pipeline::Offload::kNone, pipeline::Offload::kBlocks}) {
    const pipeline::MemoryPolicy policy{offload, offload, pipeline::batches_guidance(cfg_batch, offload), 0,
                                        o.tile_overlap};
    fmt::print("{}\n", pipeline::format_generation_plan(
                          pipeline::plan_generation_memory(footprint, shape, policy, runtime), policy, budget));
  }
  const pipeline::PolicyRequest request{pipeline::parse_offload(o.offload), cfg_batch, pipeline::parse_vae_tile_size(o.tile_size),
                                        o.tile_overlap};
  const pipeline::MemoryPolicy chosen = pipeline::choose_memory_policy(footprint, shape, request, budget, runtime);
  fmt::print("chosen for the budget (--offload {} --vae-tile-size {}):\n{}", o.offload, o.tile_size,
             pipeline::format_generation_plan(pipeline::plan_generation_memory(footprint, shape, chosen, runtime),
                                              chosen, budget));
}

void register_generate_plan(CLI::App& plan, const GlobalOptions& global) {
  auto o = std::make_shared<GeneratePlanOptions>();
  CLI::App* cmd = plan.add_subcommand("generate", "Memory of each stage of a generation per policy (weights resident "
                                                  "or streamed, activations, VAE decode by chunk and tile) against "
                                                  "--max-memory (docs/memory.md \"Planning a generation\")");
  cmd->add_option("--model", o->model, "model bundle, Wan 2.1 release or diffusers directory")->required();
  cmd->add_option("-W,--width", o->flags.width, "width in pixels (default: the model's)");
  cmd->add_option("-H,--height", o->flags.height, "height in pixels (default: the model's)");
  cmd->add_option("--frames", o->flags.frames, "frame count, 4k+1 (default: the model's)");
  cmd->add_option("--cfg", o->flags.guidance, "guidance scale; 1 runs one branch (default: the model's)");
  cmd->add_option("--precision", o->precision, "bf16 or fp32")->capture_default_str();
  cmd->add_option("--quant", o->quant, "as osp generate --quant");
  cmd->add_option("--offload", o->offload, "none, blocks or auto (the last plan)")->capture_default_str();
  cmd->add_option("--cfg-batch", o->cfg_batch, "as osp generate --cfg-batch")->capture_default_str();
  cmd->add_option("--vae-tile-size", o->tile_size, "tile edge in pixels, 0 or auto (the last plan)")->capture_default_str();
  cmd->add_option("--vae-tile-overlap", o->tile_overlap, "overlap of the VAE tiles in pixels")->capture_default_str();
  cmd->add_option("--max-memory", o->max_memory, "budget (24G, 6GiB; default: the available memory)");
  cmd->callback([o, &global] {
    apply_global_options(global);
    run_generate_plan(*o);
  });
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
  register_generate_plan(*plan, global);
}

}  // namespace osp::cli
