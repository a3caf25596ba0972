// Pipeline::generate_files (include/osp/pipeline.h, docs/api.md "Many videos into files"): a batch
// of requests on the stage-by-stage engine that `osp generate` runs (pipeline/text_to_video.h),
// with the library's checks per request, its progress callbacks and its cancellation.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "osp/api/error_category.h"
#include "osp/api/pipeline_impl.h"
#include "osp/api/request.h"
#include "osp/api/request_monitor.h"
#include "osp/core/log.h"
#include "osp/diffusion/noise.h"
#include "osp/pipeline/output_path.h"
#include "osp/pipeline/streaming_cache.h"
#include "osp/pipeline/text_to_video.h"

namespace osp {
namespace {

// The engine's options for a batch, checked (kBadInput naming the BatchOptions field).
pipeline::PipelineOptions engine_options(const api::ComponentSettings& settings, const BatchOptions& batch) {
  pipeline::PipelineOptions o;
  o.precision = settings.precision;
  o.device = settings.device;
  o.quant = settings.quant;
  o.offload = pipeline::parse_offload(batch.offload, "offload");
  o.cfg_batch = pipeline::parse_cfg_batch(batch.cfg_batch, "cfg_batch");
  o.streaming_cache = batch.streaming_cache.value_or(pipeline::default_streaming_cache_dir());
  o.embedding_cache = batch.embedding_cache;
  if (batch.max_memory < 0) fail_about("max_memory", "must be ≥ 0 bytes, got {}", batch.max_memory);
  o.max_memory = batch.max_memory;
  if (batch.vae_tile_size < pipeline::kAutoTile) {
    fail_about("vae_tile_size", "must be a tile edge in pixels, 0 (whole frames) or −1 (auto), got {}",
               batch.vae_tile_size);
  }
  o.vae_tile_size = batch.vae_tile_size;
  if (batch.vae_tile_overlap < 0) fail_about("vae_tile_overlap", "must be ≥ 0, got {}", batch.vae_tile_overlap);
  o.vae_tile_overlap = batch.vae_tile_overlap;
  o.crf = batch.write.crf;
  o.loras = settings.loras;
  o.lora_mode = settings.lora_mode;
  return o;
}

// Requests that agree on everything the engine takes once per run (the parameters, the step
// cache, the adapters) run together: one text stage, one DiT load, one VAE load.
std::string run_key(const pipeline::GenerationParams& p, const Request& r) {
  std::string key = fmt::format("{}x{}x{} {} {} {} {} {} {} {}", p.width, p.height, p.frames, p.steps, p.shift,
                                p.guidance, p.sampler, p.fps, p.negative_prompt.value_or("\x01"), r.step_cache.value_or(0));
  for (const LoraRequest& lora : r.loras) key += fmt::format("\n{}\x02{}", lora.path, lora.scale);
  return key;
}

struct CheckedRequest {
  size_t index = 0;
  pipeline::GenerationParams params;
  at::Tensor noise;  // the request's noise tensor, checked (undefined: none given)
};

// Every request's own checks; a request that fails them is reported and left out.
std::vector<CheckedRequest> check_requests(const std::vector<FileRequest>& requests, const api::Components& components,
                                           const pipeline::GenerationParams& defaults, std::vector<std::string>& errors,
                                           std::exception_ptr& first_error) {
  std::vector<CheckedRequest> checked;
  std::set<std::string> paths;
  for (size_t i = 0; i < requests.size(); ++i) {
    const FileRequest& r = requests[i];
    try {
      api::with_category(ErrorCategory::kBadInput, [&] {
        pipeline::output_kind(r.path);
        pipeline::check_output_writable(r.path);
        if (!paths.insert(r.path).second) fail_about(r.path, "two requests would write the same file");
        CheckedRequest c{i, api::resolve_request(r.request, defaults, components), at::Tensor()};
        if (r.request.noise) {
          const vae::VaeConfig& vae = components.vae_config();
          c.noise = api::checked_noise(*r.request.noise,
                                       diffusion::latent_shape(c.params.frames, c.params.height, c.params.width,
                                                               vae.z_dim, {vae.time_factor(), vae.space_factor()}));
        }
        checked.push_back(std::move(c));
      });
    } catch (const Error& e) {
      errors[i] = e.what();
      log::warn("{}: {}", r.path, errors[i]);
      if (!first_error) first_error = std::current_exception();
    }
  }
  return checked;
}

pipeline::GenerationJob job_of(const FileRequest& r, const CheckedRequest& checked) {
  pipeline::GenerationJob job;
  job.prompt = r.request.prompt;
  job.negative_prompt = r.request.negative_prompt;
  job.seed = r.request.seed;
  job.noise = r.request.noise_file;
  job.noise_tensor = checked.noise;
  job.output = r.path;
  return job;
}

void add_seconds(StageSeconds& total, const pipeline::StageSeconds& s) {
  total.load += s.load_dit + s.load_vae;
  total.text += s.text;
  total.sampling += s.sampling;
  total.decode += s.decode;
  total.write += s.write;
}

}  // namespace

int64_t BatchReport::failed() const {
  int64_t n = 0;
  for (const std::string& error : errors) n += error.empty() ? 0 : 1;
  return n;
}

BatchReport Pipeline::generate_files(const std::vector<FileRequest>& requests, const BatchOptions& options,
                                     const Callbacks& callbacks, const CancelToken* cancel) {
  std::lock_guard<std::mutex> lock(impl_->busy);
  api::Components& components = *impl_->components;
  if (components.settings().memory != MemoryPolicy::kPerStage) {
    throw api::CategorizedError(ErrorCategory::kUnsupported,
                                "generate_files loads one model at a time: it needs MemoryPolicy::kPerStage "
                                "(with resident models, write each generate() result with write_video)");
  }
  const pipeline::PipelineOptions base = api::with_category(ErrorCategory::kBadInput, [&] {
    if (requests.empty()) fail_about("requests", "is empty");
    return engine_options(components.settings(), options);
  });
  BatchReport report;
  report.errors.resize(requests.size());
  std::exception_ptr first_error;
  const std::vector<CheckedRequest> checked = check_requests(requests, components, impl_->defaults, report.errors, first_error);
  if (checked.empty()) std::rethrow_exception(first_error);  // nothing to run: the error every request met

  std::map<std::string, std::vector<CheckedRequest>> runs;
  for (const CheckedRequest& c : checked) runs[run_key(c.params, requests[c.index].request)].push_back(c);
  const api::RequestMonitor monitor(callbacks, cancel, impl_->world.get());
  bool cancelled = false;
  // No InferenceMode here: the engine keeps a DiT whose weights get sharded as normal tensors.
  for (const auto& [key, run] : runs) {
    const Request& first = requests[run.front().index].request;
    pipeline::PipelineOptions engine = base;
    engine.world = impl_->world.get();
    engine.parallel = impl_->mesh;
    engine.step_cache = first.step_cache.value_or(0);
    for (const LoraRequest& lora : first.loras) engine.loras.push_back({lora.path, lora.scale});
    std::vector<pipeline::GenerationJob> jobs;
    for (const CheckedRequest& c : run) jobs.push_back(job_of(requests[c.index], c));
    engine.on_stage = [&](const pipeline::StageEvent& e) {
      const std::string stage = e.stage;
      if (e.step < e.total) {  // before work: the place to stop
        try {
          stage == "decode" ? monitor.check_local(stage) : monitor.check(stage);
        } catch (...) {
          cancelled = true;
          throw;
        }
      }
      monitor.report(stage, e.step, e.total, run[e.job].index);
    };
    const pipeline::GenerationReport done = api::with_category(ErrorCategory::kBadInput, [&] {
      return pipeline::generate(impl_->components->bundle(), run.front().params, jobs, engine);
    });
    for (size_t k = 0; k < run.size(); ++k) report.errors[run[k].index] = done.jobs[k].error;
    add_seconds(report.seconds, done.seconds);
    report.peak_rss_bytes = std::max(report.peak_rss_bytes, static_cast<int64_t>(done.peak_rss_bytes));
    report.memory_policy = done.policy;
    if (cancelled) api::throw_cancelled("sampling");
  }
  return report;
}

}  // namespace osp
