#include "osp/pipeline/text_to_video.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>

#include "osp/adapters/apply.h"
#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/core/memory_size.h"
#include "osp/core/progress.h"
#include "osp/core/runtime.h"
#include "osp/core/timer.h"
#include "osp/diffusion/negative_prompt.h"
#include "osp/diffusion/noise.h"
#include "osp/diffusion/sample.h"
#include "osp/models/dit/config.h"
#include "osp/models/dit/loader.h"
#include "osp/models/dit/quantization.h"
#include "osp/models/dit/step_cache.h"
#include "osp/models/t5/config.h"
#include "osp/models/t5/loader.h"
#include "osp/models/vae/config.h"
#include "osp/models/vae/loader.h"
#include "osp/pipeline/dit_velocity.h"
#include "osp/pipeline/output_path.h"
#include "osp/pipeline/prompt_encoding.h"
#include "osp/pipeline/video_output.h"

namespace osp::pipeline {
namespace {

struct ComponentConfigs {
  dit::DiTConfig dit;
  vae::VaeConfig vae;
  t5::T5Config t5;
};

// The three configs, read without loading any weights.
ComponentConfigs read_configs(const ModelBundle& bundle) {
  ComponentConfigs c;
  c.dit = dit::DiTConfig::from_file(dit::find_config(bundle.dit.path, bundle.dit.config));
  const io::ComponentFiles vae_paths = vae::resolve_vae_paths(bundle.vae.path, bundle.vae.config);
  c.vae = vae::read_vae_config(vae_paths);
  const io::ComponentFiles t5_paths = t5::resolve_t5_paths(bundle.text_encoder.path, bundle.text_encoder.config);
  c.t5 = t5::read_t5_config(t5_paths);
  return c;
}

void check_compatible(const ComponentConfigs& c) { check_components_fit(c.dit, c.t5, c.vae); }

diffusion::LatentStrides latent_strides(const vae::VaeConfig& vae) { return {vae.time_factor(), vae.space_factor()}; }

std::string negative_of(const GenerationJob& job, const GenerationParams& params) {
  return effective_negative_prompt(job.negative_prompt, params);
}

Metadata metadata_of(const GenerationJob& job, const GenerationParams& p, const PipelineOptions& options,
                     const ModelBundle& bundle, const std::string& loras) {
  Metadata m = generation_metadata(job.prompt, negative_of(job, p),
                                   job.noise ? "noise file " + *job.noise : std::to_string(job.seed), p);
  m.emplace_back("precision", options.precision.name());
  m.emplace_back("model", bundle.root.empty() ? bundle.dit.path : bundle.root);
  if (!loras.empty()) m.emplace_back("loras", loras);
  return m;
}

double gib(size_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0); }

void log_report(const GenerationReport& r) {
  const StageSeconds& s = r.seconds;
  log::info("stage times: text {:.2f} s, load DiT {:.2f} s, sampling {:.2f} s, load VAE {:.2f} s, decode {:.2f} s, "
            "write {:.2f} s; peak memory {:.2f} GiB{}",
            s.text, s.load_dit, s.sampling, s.load_vae, s.decode, s.write, gib(r.peak_rss_bytes),
            r.planned_peak_bytes > 0 ? fmt::format(" (planned {:.2f} GiB)", gib(static_cast<size_t>(r.planned_peak_bytes)))
                                     : "");
  if (r.stage_peaks.decode > 0) {
    log::info("stage peaks: text {:.2f} GiB, sampling {:.2f} GiB, decode {:.2f} GiB", gib(r.stage_peaks.text),
              gib(r.stage_peaks.sampling), gib(r.stage_peaks.decode));
  }
  log::info("cross-attention keys/values: {} computed, {} reused", r.text_kv_computed, r.text_kv_reused);
}

// Records a stage's peak with `record`, then starts the next stage's measurement. False where the
// kernel does not let the high-water mark be reset (the stages' peaks are then not measured).
template <typename Record>
bool reset_peak_rss_after(Record&& record) {
  record();
  return reset_peak_rss();
}

// Runs `work` for every job still alive; an osp::Error or LibTorch error ends that job only.
template <typename Work>
void for_each_live_job(GenerationReport& report, Work&& work) {
  for (size_t i = 0; i < report.jobs.size(); ++i) {
    JobOutcome& outcome = report.jobs[i];
    if (!outcome.ok()) continue;
    try {
      work(i);
    } catch (const std::exception& e) {
      const std::string what = e.what();
      outcome.error = what.substr(0, what.find('\n'));
      log::warn("{}: {}", outcome.output, outcome.error);
    }
  }
}

// Under a launcher, the ranks must all work on the one video of each job.
void check_mesh(const PipelineOptions& options, const GenerationParams& params) {
  if (options.world == nullptr) return;
  check_cfg_parallel_guidance(options.parallel, params.guidance, "--cfg-parallel");
  check_one_video_mesh(options.parallel, options.world->size(), "--sp");
}

std::string describe_step_cache(const GenerationReport& report, int64_t layers) {
  const int64_t forwards = report.step_cache_computed + report.step_cache_skipped;
  const int64_t evaluated = forwards * layers - report.step_cache_skipped * (layers - 1);
  return fmt::format("step cache: {} of {} forwards skipped blocks 1-{}; {} of {} block evaluations ({:.2f}x fewer)",
                     report.step_cache_skipped, forwards, layers - 1, evaluated, forwards * layers,
                     evaluated > 0 ? static_cast<double>(forwards * layers) / static_cast<double>(evaluated) : 0.0);
}

// --step-cache (docs/dit.md "Step cache") before anything loads: a threshold, one process, resident
// blocks (after the memory policy chose), a DiT whose block 0 attends fully.
void check_step_cache(const PipelineOptions& options, const ModelBundle& bundle) {
  if (options.step_cache == 0) return;
  dit::check_step_cache(options.step_cache, dit::DiTConfig::from_file(dit::find_config(bundle.dit.path, bundle.dit.config)),
                        "--step-cache");
  if (options.world != nullptr) fail_about("--step-cache", "runs in one process, not under a launcher");
  if (options.offload == Offload::kBlocks) {
    fail_about("--step-cache", "skips resident blocks; with the DiT's blocks streamed (--offload) it is not available");
  }
}

bool writes_outputs(const PipelineOptions& options) { return options.world == nullptr || options.world->rank() == 0; }

// A blank line of a prompt file is almost certainly a mistake: that job fails, the others run.
void mark_empty_prompts(const std::vector<GenerationJob>& jobs, GenerationReport& report) {
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (jobs[i].prompt.find_first_not_of(" \t\r\n") != std::string::npos) continue;
    report.jobs[i].error = fmt::format("prompt {} is empty", i + 1);
    log::warn("{}: {}", report.jobs[i].output, report.jobs[i].error);
  }
}

}  // namespace

// The video size must tile into whole latent pixels and whole DiT patches, and the frame count
// into whole latent frames: checked before any weights load.
void check_video_fits(const GenerationParams& params, const dit::DiTConfig& dit, const vae::VaeConfig& vae) {
  const int64_t step = vae.space_factor() * std::max(dit.patch_size[1], dit.patch_size[2]);
  for (const auto& [flag, size] : {std::pair<const char*, int64_t>{"-W", params.width}, {"-H", params.height}}) {
    if (size % step != 0) {
      fail_about(flag, "{} is not a multiple of {} (this VAE downsamples by {} and the DiT patches by {})", size,
                 step, vae.space_factor(), std::max(dit.patch_size[1], dit.patch_size[2]));
    }
  }
  if ((params.frames - 1) % vae.time_factor() != 0) {
    fail_about("-f", "{} frames is not {}k + 1 (this VAE compresses time by {})", params.frames,
               vae.time_factor(), vae.time_factor());
  }
}

c10::ScalarType sampling_state_dtype(const dit::DiTConfig& config, const Precision& precision) {
  return config.is_sparse() && precision.reduced() ? c10::kBFloat16 : c10::kFloat;
}

std::string effective_negative_prompt(const std::optional<std::string>& own, const GenerationParams& params) {
  if (own && !own->empty()) return *own;
  if (params.negative_prompt) return *params.negative_prompt;
  return diffusion::negative_prompt_or_default("");
}

int64_t GenerationReport::failed() const {
  int64_t n = 0;
  for (const JobOutcome& job : jobs) n += job.ok() ? 0 : 1;
  return n;
}

void check_cfg_parallel_guidance(const parallel::ParallelOptions& mesh, double guidance, const std::string& subject) {
  if (mesh.cfg_parallel && guidance == 1.0) {
    fail_about(subject, "splits the two guidance branches, but guidance 1 runs only one");
  }
}

void check_one_video_mesh(const parallel::ParallelOptions& mesh, int ranks, const std::string& subject) {
  const parallel::MeshShape shape = mesh.mesh(ranks);
  if (shape.dp != 1) {
    fail_about(subject, "{} ranks with cfg {} × skiparse_sp {} × sp {} leave data parallelism {}, but one video cannot "
               "be split by batch: choose sp, ssp and cfg-parallel so that their product is the number of ranks",
               ranks, shape.cfg, shape.ssp, shape.sp, shape.dp);
  }
}

GenerationParams defaults_for(const ModelBundle& bundle) {
  const dit::DiTConfig config = dit::DiTConfig::from_file(dit::find_config(bundle.dit.path, bundle.dit.config));
  return generation_defaults(bundle, config.is_sparse() ? osp_next_defaults() : GenerationParams{});
}

void check_components_fit(const dit::DiTConfig& dit, const t5::T5Config& t5, const vae::VaeConfig& vae) {
  if (dit.in_dim != vae.z_dim || dit.out_dim != vae.z_dim) {
    fail("the DiT reads {} and writes {} latent channels (in_dim, out_dim) but the VAE has z_dim {}: "
         "--dit and --vae are not parts of one model", dit.in_dim, dit.out_dim, vae.z_dim);
  }
  if (dit.text_dim != t5.d_model) {
    fail("the DiT expects text embeddings of width {} (text_dim) but the text encoder makes {} (d_model): "
         "--dit and --text-encoder are not parts of one model", dit.text_dim, t5.d_model);
  }
  if (t5.text_len > dit.text_len) {
    fail("the text encoder yields {} tokens per prompt but the DiT takes at most {} (text_len)", t5.text_len,
         dit.text_len);
  }
}

void check_model_and_params(const ModelBundle& bundle, const GenerationParams& params) {
  validate(params);
  const ComponentConfigs configs = read_configs(bundle);
  check_compatible(configs);
  check_video_fits(params, configs.dit, configs.vae);
}

void check_generation(const ModelBundle& bundle, const GenerationParams& params,
                      const std::vector<GenerationJob>& jobs) {
  if (jobs.empty()) fail_about("-p", "no prompt given");
  std::set<std::string> outputs;
  for (const GenerationJob& job : jobs) {
    output_kind(job.output);
    check_output_writable(job.output);
    if (!outputs.insert(job.output).second) fail_about(job.output, "two prompts would write the same file");
  }
  check_model_and_params(bundle, params);
}

MemoryPolicy resolve_memory_policy(const ModelBundle& bundle, const GenerationParams& params,
                                   const PipelineOptions& options, int64_t* planned_peak) {
  if (planned_peak != nullptr) *planned_peak = 0;
  PolicyRequest request{options.offload, options.cfg_batch, options.vae_tile_size, options.vae_tile_overlap};
  const bool automatic = options.offload == Offload::kAuto || options.vae_tile_size == kAutoTile;
  if (!automatic && options.max_memory == 0) {
    return {options.offload, options.offload, batches_guidance(options.cfg_batch, options.offload),
            options.vae_tile_size, options.vae_tile_overlap};
  }
  if (options.offload == Offload::kAuto && (!options.device.is_cpu() || options.world != nullptr)) {
    log::info("memory: --offload auto keeps the weights resident (streaming runs on the CPU in one process)");
    request.offload = Offload::kNone;
  }
  const GenerationFootprint footprint = read_footprint(bundle, options.precision, options.quant);
  const GenerationShape shape{params.width, params.height, params.frames, params.guidance, options.precision};
  const auto runtime = static_cast<int64_t>(current_rss_bytes());
  const int64_t budget = options.max_memory > 0 ? options.max_memory : available_memory_bytes() + runtime;
  const MemoryPolicy policy = choose_memory_policy(footprint, shape, request, budget, runtime,
                                                   options.max_memory > 0 ? "--max-memory"
                                                                          : "the available memory (--max-memory)");
  const GenerationMemoryPlan plan = plan_generation_memory(footprint, shape, policy, runtime);
  log::info("memory: {}; planned peak {} of {} ({})", policy.describe(), format_bytes(plan.peak()),
            format_bytes(budget), options.max_memory > 0 ? "--max-memory" : "available");
  if (planned_peak != nullptr) *planned_peak = plan.peak();
  return policy;
}

GenerationReport generate(const ModelBundle& bundle, const GenerationParams& params,
                          const std::vector<GenerationJob>& jobs, const PipelineOptions& requested) {
  check_generation(bundle, params, jobs);
  check_mesh(requested, params);
  check_offload(requested.offload, requested.device, requested.world != nullptr);
  if (requested.vae_tile_size < 0 && requested.vae_tile_size != kAutoTile) {
    fail_about("--vae-tile-size", "must be a tile edge in pixels, 0 (whole frames) or auto, got {}",
               requested.vae_tile_size);
  }
  GenerationReport report;
  const MemoryPolicy policy = resolve_memory_policy(bundle, params, requested, &report.planned_peak_bytes);
  report.policy = policy.describe();
  PipelineOptions options = requested;
  options.offload = policy.dit;
  options.vae_tile_size = policy.tile_size;
  options.cfg_batch = policy.batch_guidance ? CfgBatch::kOn : CfgBatch::kOff;
  check_step_cache(options, bundle);
  for (const GenerationJob& job : jobs) report.jobs.push_back({job.output, ""});
  mark_empty_prompts(jobs, report);
  if (report.failed() == static_cast<int64_t>(jobs.size())) fail_about("-p", "every prompt is empty");
  std::vector<adapters::LoadedLora> loras = adapters::load_loras(options.loras);
  const std::string lora_metadata = adapters::describe_loras(loras);

  log::info("{}x{}, {} frames, {} {} steps, shift {}, guidance {}, {} ({})", params.width, params.height, params.frames,
            params.steps, params.sampler, params.shift, params.guidance, options.precision.name(), bundle.layout);
  const auto stage_event = [&](const char* stage, size_t job, int64_t step, int64_t total) {
    if (options.on_stage) options.on_stage({stage, job, step, total});
  };

  // Stage 2: text.
  stage_event("text", 0, 0, 1);
  StageTimer text_timer("text encoding");
  std::vector<std::string> texts;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const GenerationJob& job = jobs[i];
    if (!report.jobs[i].ok()) continue;
    texts.push_back(job.prompt);
    if (params.guidance != 1.0) texts.push_back(negative_of(job, params));  // g = 1 never reads it ("Guidance and the negative prompt")
  }
  const std::map<std::string, at::Tensor> contexts =
      encode_prompts(bundle, texts,
                     {options.precision, options.device, options.embedding_cache, policy.text == Offload::kBlocks});
  report.seconds.text = text_timer.done();
  stage_event("text", 0, 1, 1);
  release_free_memory();  // the encoder is gone: its heap pages should not count against the DiT
  const bool stage_peaks = reset_peak_rss_after([&] { report.stage_peaks.text = peak_rss_bytes(); });

  // Stage 3: sampling.
  StageTimer load_timer("load DiT");
  SamplingDiT sampling_dit = load_sampling_dit(bundle.dit.path, bundle.dit.config,
                                               {options.precision, options.device, options.quant, options.offload,
                                                options.streaming_cache});
  std::unique_ptr<dit::WanDiT>& model = sampling_dit.model;
  if (!loras.empty()) {
    // Streamed blocks are read again at every use: an adapter merged into them would be lost.
    const adapters::LoraMode wanted = sampling_dit.streamer ? adapters::LoraMode::kRuntime : options.lora_mode;
    const adapters::LoraMode mode = adapters::apply_loras(*model, loras, wanted);
    log::info("lora: {} adapter(s), {} mode", loras.size(), adapters::lora_mode_name(mode));
  }
  report.seconds.load_dit = load_timer.done();
  std::unique_ptr<parallel::DistributedDiT> distributed;
  if (options.world != nullptr) {
    distributed = std::make_unique<parallel::DistributedDiT>(*options.world, *model, options.parallel);
    log::info("rank {}/{}: mesh {}", options.world->rank(), options.world->size(), distributed->mesh().describe());
  }
  diffusion::SampleOptions sampling;
  sampling.sampler = diffusion::parse_sampler(params.sampler);
  sampling.steps = params.steps;
  sampling.shift = params.shift;
  sampling.state_dtype = sampling_state_dtype(model->config(), options.precision);
  const std::vector<int64_t> shape =
      diffusion::latent_shape(params.frames, params.height, params.width, model->config().in_dim,
                              latent_strides(read_configs(bundle).vae));
  std::vector<at::Tensor> latents(jobs.size());
  const bool batch_guidance = params.guidance != 1.0 && batches_guidance(options.cfg_batch, options.offload);
  if (batch_guidance) log::info("guidance: both branches in one batch-2 forward (--cfg-batch)");
  StageTimer sampling_timer("sampling");
  for_each_live_job(report, [&](size_t i) {
    const GenerationJob& job = jobs[i];
    const at::Tensor noise = job.noise_tensor.defined() ? job.noise_tensor
                             : job.noise ? diffusion::load_noise(*job.noise, shape)
                                         : diffusion::initial_noise(shape, job.seed);
    std::vector<std::shared_ptr<dit::TextContext>> texts_used;
    const at::Tensor negative = params.guidance != 1.0 ? contexts.at(negative_of(job, params)) : at::Tensor();
    const at::Tensor& context = contexts.at(job.prompt);
    const diffusion::VelocityFn guided =
        distributed ? distributed_dit_velocity(*distributed, context, negative, params.guidance, options.reuse_text_kv,
                                               &texts_used)
        : batch_guidance
            ? batched_guided_dit_velocity(*model, context, negative, params.guidance, options.reuse_text_kv, &texts_used)
            : guided_dit_velocity(*model, context, negative, params.guidance, options.reuse_text_kv, &texts_used);
    if (options.step_cache > 0) {
      for (const auto& text : texts_used) text->enable_step_cache(options.step_cache);
    }
    const diffusion::VelocityFn velocity = [&](const at::Tensor& x, const diffusion::StepInfo& step) {
      stage_event("sampling", i, step.index, step.steps);
      at::Tensor v = guided(x, step);
      if (step.index + 1 == step.steps) stage_event("sampling", i, step.steps, step.steps);
      return v;
    };
    std::unique_ptr<Progress> progress;  // on rank 0 only
    if (writes_outputs(options)) {
      progress = std::make_unique<Progress>(
          jobs.size() > 1 ? fmt::format("sampling {}/{}", i + 1, jobs.size()) : "sampling", params.steps);
    }
    latents[i] = diffusion::sample(noise.to(sampling.state_dtype), velocity, sampling, progress.get()).to(at::kFloat);
    if (progress) progress->finish();
    for (const auto& text : texts_used) {
      report.text_kv_computed += text->kv_computed();
      report.text_kv_reused += text->kv_reused();
      if (const dit::StepCache* cache = text->step_cache()) {
        report.step_cache_computed += cache->computed();
        report.step_cache_skipped += cache->skipped();
      }
    }
  });
  report.seconds.sampling = sampling_timer.done();
  if (options.step_cache > 0) log::info("{}", describe_step_cache(report, model->config().num_layers));
  if (sampling_dit.streamer) {
    report.streaming = sampling_dit.streamer->stats();
    log::info("{}", sampling_dit.describe_streaming(report.seconds.sampling));
  }
  distributed.reset();
  sampling_dit.streamer.reset();
  model.reset();  // the DiT leaves memory before the VAE arrives
  release_free_memory();
  if (stage_peaks) reset_peak_rss_after([&] { report.stage_peaks.sampling = peak_rss_bytes(); });
  if (!writes_outputs(options)) {
    report.peak_rss_bytes = std::max({peak_rss_bytes(), report.stage_peaks.text, report.stage_peaks.sampling});
    return report;
  }

  // Stage 4: decode and write.
  StageTimer vae_timer("load VAE");
  const auto vae = vae::load_vae(bundle.vae.path, bundle.vae.config, options.device);
  report.seconds.load_vae = vae_timer.done();
  OutputOptions output;
  output.fps = static_cast<double>(params.fps);
  output.crf = options.crf;
  output.tile_size = options.vae_tile_size;
  output.tile_overlap = options.vae_tile_overlap;
  for_each_live_job(report, [&](size_t i) {
    stage_event("decode", i, 0, 1);
    const OutputSeconds seconds = decode_and_write(*vae, latents[i].to(vae->device()), jobs[i].output,
                                                   metadata_of(jobs[i], params, options, bundle, lora_metadata), output);
    report.seconds.decode += seconds.decode;
    report.seconds.write += seconds.write;
    log::info("wrote {}", jobs[i].output);
    stage_event("decode", i, 1, 1);
  });
  if (stage_peaks) report.stage_peaks.decode = peak_rss_bytes();
  report.peak_rss_bytes = std::max({peak_rss_bytes(), report.stage_peaks.text, report.stage_peaks.sampling});
  log_report(report);
  return report;
}

}  // namespace osp::pipeline
