// osp generate: text to video with a model bundle (src/osp/pipeline/text_to_video.h). Flags left
// out take the model's defaults: its bundle's "defaults", else OSP-Next's (docs/sampling.md "OSP-Next inference defaults")
// for a Skiparse DiT and Wan 2.1's ("Wan 2.1 defaults") for a plain one.
#include <filesystem>
#include <memory>
#include <optional>

#include "commands.h"
#include "osp/adapters/lora_spec.h"
#include "parallel_flags.h"
#include "sampling_flags.h"
#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/core/memory_size.h"
#include "osp/core/runtime.h"
#include "osp/models/t5/text_encoding.h"
#include "osp/parallel/join_launcher.h"
#include "osp/parallel/world.h"
#include "osp/pipeline/bundle.h"
#include "osp/pipeline/output_path.h"
#include "osp/pipeline/streaming_cache.h"
#include "osp/pipeline/text_to_video.h"

namespace osp::cli {

namespace {

struct GenerateOptions {
  std::string prompt;
  std::optional<std::string> negative;
  std::string prompts;
  std::optional<std::string> model;
  pipeline::ComponentOverrides components;
  pipeline::BundleDefaults flags;  // the generation flags given; the model's defaults fill the rest
  uint64_t seed = 1024;
  std::optional<std::string> noise;
  std::string output;
  std::string precision = "bf16";
  std::string device = "cpu";
  std::string quant;
  std::string offload = "none";
  std::string cfg_batch = "auto";
  std::string streaming_cache = pipeline::default_streaming_cache_dir();
  std::optional<std::string> cache;
  std::string tile_size = "0";
  int64_t tile_overlap = 64;
  std::string max_memory;
  int crf = -1;
  parallel::ParallelOptions parallel;
  std::vector<std::string> loras;  // FILE[:SCALE]
  std::string lora_mode = "merged";
  double step_cache = 0;
};

// The shipped default model, looked for next to the executable's checkout.
std::optional<std::string> default_model_dir() {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  for (fs::path dir = exe.parent_path(); !ec && !dir.empty() && dir != dir.root_path(); dir = dir.parent_path()) {
    const fs::path candidate = dir / "models" / "osp-next-tiny";
    if (fs::is_regular_file(candidate / "config.json")) return candidate.string();
  }
  return std::nullopt;
}

bool has_explicit_components(const pipeline::ComponentOverrides& c) {
  return c.dit || c.text_encoder || c.tokenizer || c.vae;
}

pipeline::ModelBundle resolve_model(const GenerateOptions& o) {
  std::optional<std::string> dir = o.model;
  if (!dir && !has_explicit_components(o.components)) {
    dir = default_model_dir();
    if (!dir) {
      fail_about("--model", "no model given and no default model (models/osp-next-tiny) found; pass --model DIR, or "
                 "make a tiny random-weights bundle with `osp init-bundle --out DIR`");
    }
    log::info("model: {} (default)", *dir);
  }
  return pipeline::resolve_bundle(dir, o.components);
}


std::vector<pipeline::GenerationJob> make_jobs(const GenerateOptions& o) {
  std::vector<std::string> prompts = o.prompts.empty() ? std::vector<std::string>{o.prompt}
                                                       : t5::read_prompt_file(o.prompts);
  std::vector<pipeline::GenerationJob> jobs;
  for (size_t i = 0; i < prompts.size(); ++i) {
    pipeline::GenerationJob job;
    job.prompt = prompts[i];
    job.negative_prompt = o.negative;
    job.seed = o.seed;  // every prompt of a file draws the same noise: its output does not depend on its line
    job.noise = o.noise;
    job.output = o.prompts.empty() ? o.output : pipeline::numbered_output(o.output, static_cast<int64_t>(i));
    jobs.push_back(std::move(job));
  }
  return jobs;
}

void run_generate(const GenerateOptions& o, int threads_flag) {
  pipeline::output_kind(o.output);  // a wrong extension fails before anything is read
  std::vector<adapters::LoraSpec> loras;
  for (const std::string& text : o.loras) loras.push_back(adapters::parse_lora_spec(text));
  const adapters::LoraMode lora_mode = adapters::parse_lora_mode(o.lora_mode);
  // Under a launcher every rank runs this command; join the others first so that a rank failing
  // later ends their next collective instead of leaving them at the rendezvous.
  // Parallel flags without a launcher still get a World (of one), so the mesh check names them.
  const std::unique_ptr<parallel::World> world = parallel::join_launcher(
      threads_flag, o.parallel.requested() ? parallel::JoinWhen::kAlways : parallel::JoinWhen::kDistributed,
      parse_device(o.device));
  const pipeline::ModelBundle bundle = resolve_model(o);
  const pipeline::GenerationParams params = pipeline::overlay(pipeline::defaults_for(bundle), o.flags);
  pipeline::PipelineOptions options;
  options.precision = Precision::parse(o.precision);
  options.device = parse_device(o.device);
  options.quant = o.quant;
  options.offload = pipeline::parse_offload(o.offload);
  options.cfg_batch = pipeline::parse_cfg_batch(o.cfg_batch);
  options.streaming_cache = o.streaming_cache == "none" ? "" : o.streaming_cache;
  options.embedding_cache = o.cache;
  options.vae_tile_size = pipeline::parse_vae_tile_size(o.tile_size);
  if (!o.max_memory.empty()) options.max_memory = parse_memory_size(o.max_memory, "--max-memory");
  options.vae_tile_overlap = o.tile_overlap;
  options.crf = o.crf;
  options.world = world.get();
  options.parallel = o.parallel;
  options.loras = loras;
  options.lora_mode = lora_mode;
  options.step_cache = o.step_cache;
  log::info("{}x{}, {} frames, {} {} steps, shift {}, guidance {}, {} ({})", params.width, params.height, params.frames,
            params.steps, params.sampler, params.shift, params.guidance, options.precision.name(), bundle.layout);
  const pipeline::GenerationReport report = pipeline::generate(bundle, params, make_jobs(o), options);
  if (report.failed() > 0) {
    fail("{} of {} generation(s) failed (see above); the others were written", report.failed(), report.jobs.size());
  }
}

}  // namespace

void register_generate(CLI::App& app, const GlobalOptions& global) {
  auto o = std::make_shared<GenerateOptions>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate a video from a text prompt");
  auto* prompt = cmd->add_option("-p,--prompt", o->prompt, "the prompt");
  auto* prompts = cmd->add_option("--prompts", o->prompts,
                                  "text file, one prompt per line: one output each, OUT numbered (out_000.mp4, ...)");
  prompt->excludes(prompts);
  cmd->add_option("-n,--negative-prompt", o->negative, "negative prompt (default: the official Wan one)");
  cmd->add_option("-o,--output", o->output,
                  "output: .mp4, .webm, .gif, a png pattern (frames/%03d.png) or .safetensors (latents + frames)")
      ->required();
  cmd->add_option("--model", o->model,
                  "model bundle directory: an OSP bundle (config.json), a Wan 2.1 release or a diffusers pipeline "
                  "(default: models/osp-next-tiny)");
  cmd->add_option("--dit", o->components.dit, "DiT weights (file, index or directory); overrides the bundle's");
  cmd->add_option("--dit-config", o->components.dit_config, "DiT config.json");
  cmd->add_option("--text-encoder", o->components.text_encoder, "umT5 encoder weights");
  cmd->add_option("--text-encoder-config", o->components.text_encoder_config, "umT5 config.json");
  cmd->add_option("--tokenizer", o->components.tokenizer, "tokenizer folder or spiece.model");
  cmd->add_option("--vae", o->components.vae, "VAE weights");
  cmd->add_option("--vae-config", o->components.vae_config, "VAE config.json");
  add_sampling_flags(*cmd, o->flags);
  cmd->add_option("--fps", o->flags.fps, "frame rate of the written video (default: the model's)");
  cmd->add_option("--seed", o->seed, "noise seed (LibTorch's CPU generator, docs/sampling.md)")->capture_default_str();
  cmd->add_option("--noise", o->noise, "initial noise from a safetensors file (tensor 'noise'), instead of --seed");
  cmd->add_option("--precision", o->precision, "bf16 (official mixed precision) or fp32")->capture_default_str();
  cmd->add_option("--device", o->device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  cmd->add_option("--quant", o->quant, "hif8: HiF8 fake quantization (docs/quantization.md 'Quantized layer set'); none: off (default: config)");
  cmd->add_option("--offload", o->offload,
                  "none: the DiT resident while it samples; blocks: its blocks read from the mapped checkpoint just "
                  "before they run, the next one prefetched (models larger than memory, docs/memory.md); auto: "
                  "per component, resident when its stage fits --max-memory, else streamed")
      ->capture_default_str();
  cmd->add_option("--streaming-cache", o->streaming_cache,
                  "with streamed blocks, a checkpoint stored in another dtype than the run's (float32 weights run "
                  "in bf16) is converted once into this directory and streamed from there; none: convert at every "
                  "read")
      ->capture_default_str();
  cmd->add_option("--cfg-batch", o->cfg_batch,
                  "run both guidance branches as one batch-2 forward: auto (when blocks stream: each block is read "
                  "once per step instead of twice), on, off")
      ->capture_default_str();
  cmd->add_option("--cache", o->cache, "prompt-embedding cache directory (read and filled)");
  cmd->add_option("--vae-tile-size", o->tile_size,
                  "decode in spatial tiles of this many pixels (0: whole frames; auto: the largest that fits "
                  "--max-memory, docs/memory.md)")
      ->capture_default_str();
  cmd->add_option("--max-memory", o->max_memory,
                  "memory budget (24G, 6GiB, 512M) for --offload auto and --vae-tile-size auto; checked against the "
                  "planned peak before anything loads (default: the machine's available memory)");
  cmd->add_option("--vae-tile-overlap", o->tile_overlap, "overlap of the VAE tiles in pixels")->capture_default_str();
  cmd->add_option("--crf", o->crf, "video quality, lower is better (H.264 0-51, VP9 0-63; default: the encoder's)");
  cmd->add_option("--lora", o->loras,
                  "adapter FILE[:SCALE] (repeatable, they stack): PEFT, diffusers, ComfyUI or kohya keys, a LoRA "
                  "checkpoint folder (docs/lora.md)");
  cmd->add_option("--lora-mode", o->lora_mode,
                  "merged: added into the weights at load (no per-step cost); runtime: run beside the base GEMMs")
      ->capture_default_str();
  add_step_cache_flag(*cmd, o->step_cache);
  add_parallel_flags(*cmd, o->parallel);
  cmd->callback([o, &global] {
    apply_global_options(global);
    if (o->prompt.empty() && o->prompts.empty()) fail_about("-p", "give a prompt (-p TEXT) or a prompt file (--prompts)");
    run_generate(*o, global.threads);
  });
}

}  // namespace osp::cli
