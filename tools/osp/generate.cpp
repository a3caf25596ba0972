// osp generate: text to video files through the library API (include/osp/pipeline.h,
// Pipeline::generate_files: one model in memory at a time). Flags left out take the model's
// defaults: its bundle's "defaults", else OSP-Next's (docs/sampling.md "OSP-Next inference
// defaults") for a Skiparse DiT and Wan 2.1's ("Wan 2.1 defaults") for a plain one.
#include <filesystem>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "commands.h"
#include "osp/adapters/lora_spec.h"
#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/core/memory_size.h"
#include "osp/models/t5/text_encoding.h"
#include "osp/pipeline.h"
#include "osp/pipeline/memory_policy.h"
#include "osp/pipeline/output_path.h"
#include "osp/pipeline/streaming_cache.h"
#include "parallel_flags.h"
#include "sampling_flags.h"

namespace osp::cli {

namespace {

struct GenerateOptions {
  std::string prompt;
  std::optional<std::string> negative;
  std::string prompts;
  std::optional<std::string> model;
  pipeline::BundleDefaults flags;  // the generation flags given; the model's defaults fill the rest
  uint64_t seed = 1024;
  std::optional<std::string> noise;
  std::string output;
  LoadOptions load;
  BatchOptions batch;
  std::string streaming_cache = pipeline::default_streaming_cache_dir();
  std::string tile_size = "0";
  std::string max_memory;
  std::vector<std::string> lora_flags;  // FILE[:SCALE]
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

bool has_explicit_components(const ComponentPaths& c) { return c.dit || c.text_encoder || c.tokenizer || c.vae; }

std::string model_path(const GenerateOptions& o) {
  if (o.model) return *o.model;
  if (has_explicit_components(o.load.components)) return "";
  const std::optional<std::string> dir = default_model_dir();
  if (!dir) {
    fail_about("--model", "no model given and no default model (models/osp-next-tiny) found; pass --model DIR, or "
               "make a tiny random-weights bundle with `osp init-bundle --out DIR`");
  }
  log::info("model: {} (default)", *dir);
  return *dir;
}

// The library names the fields of its structs; the user typed flags.
const std::vector<std::pair<std::string, std::string>>& flag_names() {
  static const std::vector<std::pair<std::string, std::string>> names{
      {"precision", "--precision"},      {"device", "--device"},
      {"threads", "--threads"},          {"parallel.sp", "--sp"},
      {"parallel.ssp", "--ssp"},         {"parallel.cfg_parallel", "--cfg-parallel"},
      {"parallel", "--sp"},              {"loras", "--lora"},
      {"lora_mode", "--lora-mode"},      {"offload", "--offload"},
      {"cfg_batch", "--cfg-batch"},      {"max_memory", "--max-memory"},
      {"vae_tile_size", "--vae-tile-size"}, {"vae_tile_overlap", "--vae-tile-overlap"},
      {"step_cache", "--step-cache"},    {"prompt", "-p"},
      {"negative_prompt", "-n"},         {"noise_file", "--noise"},
      {"mesh", "--sp/--ssp/--cfg-parallel"}};
  return names;
}

// Runs `work`; an error about a library field leaves naming its flag instead.
template <typename Work>
auto naming_flags(Work&& work) -> decltype(work()) {
  try {
    return work();
  } catch (const Error& e) {
    const std::string what = e.what();
    for (const auto& [field, flag] : flag_names()) {
      if (what.rfind(field + ": ", 0) == 0) throw Error(flag + what.substr(field.size()));
    }
    throw;
  }
}

Request request_of(const GenerateOptions& o, const std::string& prompt) {
  Request r;
  r.prompt = prompt;
  r.negative_prompt = o.negative;
  r.width = o.flags.width;
  r.height = o.flags.height;
  r.frames = o.flags.frames;
  r.steps = o.flags.steps;
  r.fps = o.flags.fps;
  r.shift = o.flags.shift;
  r.guidance = o.flags.guidance;
  r.sampler = o.flags.sampler;
  r.seed = o.seed;  // every prompt of a file draws the same noise: its output does not depend on its line
  r.noise_file = o.noise;
  if (o.step_cache != 0) r.step_cache = o.step_cache;  // 0: off (a negative one is rejected by the library)
  return r;
}

std::vector<FileRequest> file_requests(const GenerateOptions& o) {
  const std::vector<std::string> prompts =
      o.prompts.empty() ? std::vector<std::string>{o.prompt} : t5::read_prompt_file(o.prompts);
  std::vector<FileRequest> requests;
  for (size_t i = 0; i < prompts.size(); ++i) {
    requests.push_back({request_of(o, prompts[i]),
                        o.prompts.empty() ? o.output : pipeline::numbered_output(o.output, static_cast<int64_t>(i))});
  }
  return requests;
}

void run_generate(GenerateOptions& o, int threads_flag) {
  pipeline::output_kind(o.output);  // a wrong extension fails before anything is read
  for (const std::string& text : o.lora_flags) {
    const adapters::LoraSpec spec = adapters::parse_lora_spec(text);
    o.load.loras.push_back({spec.path, spec.scale});
  }
  if (!o.max_memory.empty()) o.batch.max_memory = parse_memory_size(o.max_memory, "--max-memory");
  o.batch.vae_tile_size = pipeline::parse_vae_tile_size(o.tile_size);
  o.batch.streaming_cache = o.streaming_cache == "none" ? "" : o.streaming_cache;
  o.load.memory = MemoryPolicy::kPerStage;  // one large model in memory at a time
  o.load.threads = threads_flag;
  const std::vector<FileRequest> requests = file_requests(o);
  const BatchReport report = naming_flags([&] {
    const std::unique_ptr<Pipeline> pipe = Pipeline::from_pretrained(model_path(o), o.load);
    return pipe->generate_files(requests, o.batch);
  });
  if (report.failed() > 0) {
    fail("{} of {} generation(s) failed (see above); the others were written", report.failed(), requests.size());
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
  cmd->add_option("--dit", o->load.components.dit, "DiT weights (file, index or directory); overrides the bundle's");
  cmd->add_option("--dit-config", o->load.components.dit_config, "DiT config.json");
  cmd->add_option("--text-encoder", o->load.components.text_encoder, "umT5 encoder weights");
  cmd->add_option("--text-encoder-config", o->load.components.text_encoder_config, "umT5 config.json");
  cmd->add_option("--tokenizer", o->load.components.tokenizer, "tokenizer folder or spiece.model");
  cmd->add_option("--vae", o->load.components.vae, "VAE weights");
  cmd->add_option("--vae-config", o->load.components.vae_config, "VAE config.json");
  add_sampling_flags(*cmd, o->flags);
  cmd->add_option("--fps", o->flags.fps, "frame rate of the written video (default: the model's)");
  cmd->add_option("--seed", o->seed, "noise seed (LibTorch's CPU generator, docs/sampling.md)")->capture_default_str();
  cmd->add_option("--noise", o->noise, "initial noise from a safetensors file (tensor 'noise'), instead of --seed");
  cmd->add_option("--precision", o->load.precision, "bf16 (official mixed precision) or fp32")->capture_default_str();
  cmd->add_option("--device", o->load.device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  cmd->add_option("--quant", o->load.quant, "hif8: HiF8 fake quantization (docs/quantization.md 'Quantized layer set'); none: off (default: config)");
  cmd->add_option("--offload", o->batch.offload,
                  "none: the DiT resident while it samples; blocks: its blocks read from the mapped checkpoint just "
                  "before they run, the next one prefetched (models larger than memory, docs/memory.md); auto: "
                  "per component, resident when its stage fits --max-memory, else streamed")
      ->capture_default_str();
  cmd->add_option("--streaming-cache", o->streaming_cache,
                  "with streamed blocks, a checkpoint stored in another dtype than the run's (float32 weights run "
                  "in bf16) is converted once into this directory and streamed from there; none: convert at every "
                  "read")
      ->capture_default_str();
  cmd->add_option("--cfg-batch", o->batch.cfg_batch,
                  "run both guidance branches as one batch-2 forward: auto (when blocks stream: each block is read "
                  "once per step instead of twice), on, off")
      ->capture_default_str();
  cmd->add_option("--cache", o->batch.embedding_cache, "prompt-embedding cache directory (read and filled)");
  cmd->add_option("--vae-tile-size", o->tile_size,
                  "decode in spatial tiles of this many pixels (0: whole frames; auto: the largest that fits "
                  "--max-memory, docs/memory.md)")
      ->capture_default_str();
  cmd->add_option("--max-memory", o->max_memory,
                  "memory budget (24G, 6GiB, 512M) for --offload auto and --vae-tile-size auto; checked against the "
                  "planned peak before anything loads (default: the machine's available memory)");
  cmd->add_option("--vae-tile-overlap", o->batch.vae_tile_overlap, "overlap of the VAE tiles in pixels")->capture_default_str();
  cmd->add_option("--crf", o->batch.write.crf, "video quality, lower is better (H.264 0-51, VP9 0-63; default: the encoder's)");
  cmd->add_option("--lora", o->lora_flags,
                  "adapter FILE[:SCALE] (repeatable, they stack): PEFT, diffusers, ComfyUI or kohya keys, a LoRA "
                  "checkpoint folder (docs/lora.md)");
  cmd->add_option("--lora-mode", o->load.lora_mode,
                  "merged: added into the weights at load (no per-step cost); runtime: run beside the base GEMMs")
      ->capture_default_str();
  add_step_cache_flag(*cmd, o->step_cache);
  add_parallel_flags(*cmd, o->load.parallel);
  cmd->callback([o, &global] {
    apply_global_options(global);
    if (o->prompt.empty() && o->prompts.empty()) fail_about("-p", "give a prompt (-p TEXT) or a prompt file (--prompts)");
    run_generate(*o, global.threads);
  });
}

}  // namespace osp::cli
