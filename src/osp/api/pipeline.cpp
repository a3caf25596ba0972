// The library API's Pipeline (include/osp/pipeline.h, docs/api.md): the CLI's stages (text,
// sampling, decode) on components that stay loaded, with the result kept in memory.
#include "osp/pipeline.h"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>

#include "osp/adapters/apply.h"
#include "osp/api/components.h"
#include "osp/api/error_category.h"
#include "osp/api/pipeline_impl.h"
#include "osp/api/request.h"
#include "osp/api/request_monitor.h"
#include "osp/core/runtime.h"
#include "osp/diffusion/noise.h"
#include "osp/diffusion/sample.h"
#include "osp/io/video_ffmpeg.h"
#include "osp/models/t5/text_encoding.h"
#include "osp/models/vae/codec.h"
#include "osp/models/vae/latent_preview.h"
#include "osp/parallel/distributed_dit.h"
#include "osp/parallel/join_launcher.h"
#include "osp/parallel/tiles.h"
#include "osp/pipeline/dit_velocity.h"
#include "osp/pipeline/text_to_video.h"

namespace osp {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

using api::RequestMonitor;

// The request's LoRAs attached at runtime for its duration, detached on every exit.
class RequestLoras {
 public:
  RequestLoras(dit::WanDiT& model, const std::vector<LoraRequest>& requests) : model_(model) {
    if (requests.empty()) return;
    std::vector<adapters::LoraSpec> specs;
    for (const LoraRequest& r : requests) specs.push_back({r.path, r.scale});
    loras_ = api::with_category(ErrorCategory::kBadFile, [&] { return adapters::load_loras(specs); });
    api::with_category(ErrorCategory::kBadInput,
                       [&] { adapters::apply_loras(model_, loras_, adapters::LoraMode::kRuntime); });
  }
  ~RequestLoras() {
    for (adapters::LoadedLora& lora : loras_) lora.adapter.detach(model_);
  }
  RequestLoras(const RequestLoras&) = delete;
  RequestLoras& operator=(const RequestLoras&) = delete;

 private:
  dit::WanDiT& model_;
  std::vector<adapters::LoadedLora> loras_;
};

// Contexts [1, L, D] float32 of the prompt and (when guided) the negative prompt.
std::pair<at::Tensor, at::Tensor> encode_texts(api::Components& components, const std::string& prompt,
                                               const std::string& negative, bool guided) {
  std::vector<std::string> texts{prompt};
  if (guided) texts.push_back(negative);
  const t5::TokenBatch tokens = components.tokenizer().encode(texts);
  const at::Tensor context = t5::encode_tokens([&]() -> const t5::T5Encoder& { return components.text_encoder(); },
                                               tokens, nullptr);
  components.release_text_encoder();
  return {context.narrow(0, 0, 1).clone(), guided ? context.narrow(0, 1, 1).clone() : at::Tensor()};
}

at::Tensor sample_latents(api::Components& components, const pipeline::GenerationParams& p, const Request& request,
                          const at::Tensor& context, const at::Tensor& negative, const RequestMonitor& monitor,
                          const std::optional<vae::LatentPreview>& preview, parallel::DistributedDiT* distributed) {
  dit::WanDiT& model = components.dit();
  RequestLoras loras(model, request.loras);
  const vae::VaeConfig& vae_config = components.vae_config();
  const std::vector<int64_t> shape = diffusion::latent_shape(
      p.frames, p.height, p.width, model.config().in_dim, {vae_config.time_factor(), vae_config.space_factor()});
  const at::Tensor noise = api::request_noise(request, shape);
  std::vector<std::shared_ptr<dit::TextContext>> texts;
  const diffusion::VelocityFn guided =
      distributed ? pipeline::distributed_dit_velocity(*distributed, context, negative, p.guidance)
                  : pipeline::guided_dit_velocity(model, context, negative, p.guidance, true, &texts);
  for (const auto& text : texts) {
    if (request.step_cache) text->enable_step_cache(*request.step_cache);
  }
  // The samplers call the velocity once per step: the place to report steps and to stop.
  const diffusion::VelocityFn velocity = [&](const at::Tensor& x, const diffusion::StepInfo& step) {
    monitor.check("sampling");
    at::Tensor v = guided(x, step);
    monitor.report("sampling", step.index + 1, step.steps);
    monitor.preview(preview, x, v, step);
    return v;
  };
  diffusion::SampleOptions sampling;
  sampling.sampler = diffusion::parse_sampler(p.sampler);
  sampling.steps = p.steps;
  sampling.shift = p.shift;
  sampling.state_dtype = pipeline::sampling_state_dtype(model.config(), components.settings().precision);
  at::Tensor latents = diffusion::sample(noise.to(sampling.state_dtype), velocity, sampling).to(at::kFloat);
  return latents;
}

// uint8 [T, H, W, 3] frames of latents [C, F, H', W'].
at::Tensor decode_frames(api::Components& components, const at::Tensor& latents, const RequestMonitor& monitor) {
  vae::WanVAE& model = components.vae();
  std::vector<at::Tensor> frames;
  int64_t chunk = 0;
  const int64_t chunks = latents.size(1);
  vae::decode_stream(model, latents.unsqueeze(0).to(model.device()), [&](const at::Tensor& decoded) {
    monitor.check("decode");
    for (int64_t t = 0; t < decoded.size(2); ++t) frames.push_back(io::ffmpeg::to_rgb24(decoded[0].select(1, t).cpu()));
    monitor.report("decode", ++chunk, chunks);
  });
  components.release_vae();
  return at::stack(frames);
}

Parameters parameters_of(const pipeline::GenerationParams& p, const std::string& negative) {
  return {p.width, p.height, p.frames, p.steps, p.fps, p.shift, p.guidance, p.sampler, negative};
}

// The mesh of LoadOptions::parallel (kBadInput for impossible values; the world and the model
// check the rest when they are known).
parallel::ParallelOptions mesh_of(const LoadOptions& options) {
  const ParallelMesh& m = options.parallel;
  if (m.sp < 1 || m.sp > 1024) fail_about("parallel.sp", "must be in [1, 1024], got {}", m.sp);
  if (m.ssp < 1 || m.ssp > 1024) fail_about("parallel.ssp", "must be in [1, 1024], got {}", m.ssp);
  parallel::ParallelOptions out;
  out.sp = m.sp;
  out.ssp = m.ssp;
  out.cfg_parallel = m.cfg_parallel;
  out.shard_weights = m.shard_weights;
  return out;
}

// What a request must satisfy on this mesh: both guidance branches for cfg-parallel, and a token
// grid that Ulysses can tile (docs/skiparse.md "Ulysses on spatial tiles").
void check_request_fits_mesh(const pipeline::GenerationParams& p, const parallel::ParallelOptions& mesh,
                             const dit::DiTConfig& dit, const vae::VaeConfig& vae) {
  pipeline::check_cfg_parallel_guidance(mesh, p.guidance, "parallel.cfg_parallel");
  parallel::check_spatial_tiles(
      dit, diffusion::latent_shape(p.frames, p.height, p.width, dit.in_dim, {vae.time_factor(), vae.space_factor()}),
      mesh.sp);
}

}  // namespace

Pipeline::Pipeline(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Pipeline::~Pipeline() = default;

std::unique_ptr<Pipeline> Pipeline::from_pretrained(const std::string& path, const LoadOptions& options) {
  api::ComponentSettings settings = api::with_category(ErrorCategory::kBadInput, [&] {
    api::ComponentSettings s;
    s.precision = Precision::parse(options.precision, "precision");
    s.device = parse_device(options.device);
    s.quant = options.quant;
    s.memory = options.memory;
    if (options.threads < 0) fail_about("threads", "must be ≥ 0, got {}", options.threads);
    for (const LoraRequest& lora : options.loras) {
      if (!std::isfinite(lora.scale)) fail_about("loras", "scale of {} is not a finite number", lora.path);
      s.loras.push_back({lora.path, lora.scale});
    }
    s.lora_mode = adapters::parse_lora_mode(options.lora_mode, "lora_mode");
    return s;
  });
  auto impl = std::make_unique<Impl>();
  impl->mesh = api::with_category(ErrorCategory::kBadInput, [&] { return mesh_of(options); });
  settings.shardable_dit = impl->mesh.shard_weights;
  // Join the other ranks before reading any file: a rank that fails later ends their collectives.
  impl->world = api::with_category(ErrorCategory::kBadInput, [&] {
    return parallel::join_launcher(options.threads,
                                   impl->mesh.requested() ? parallel::JoinWhen::kAlways : parallel::JoinWhen::kDistributed,
                                   settings.device);
  });
  if (options.threads > 0) at::set_num_threads(options.threads);
  pipeline::ModelBundle bundle = api::with_category(ErrorCategory::kBadFile, [&] {
    return pipeline::resolve_bundle(path.empty() ? std::nullopt : std::optional<std::string>(path),
                                    api::component_overrides(options.components));
  });
  impl->defaults = pipeline::defaults_for(bundle);
  c10::InferenceMode inference;
  api::with_category(ErrorCategory::kBadFile, [&] {
    impl->components = std::make_unique<api::Components>(std::move(bundle), settings);
    const std::string preview = vae::latent_preview_path(impl->components->bundle().vae.path);
    if (std::filesystem::exists(preview)) {
      impl->preview = vae::read_latent_preview(preview, impl->components->vae_config().z_dim);
    }
  });
  if (impl->world) {
    // The mesh against the world and the model before any request.
    api::with_category(ErrorCategory::kBadInput, [&] {
      const int ranks = impl->world->size();
      parallel::validate_mesh(impl->mesh.mesh(ranks), ranks, impl->components->dit_config());
      pipeline::check_one_video_mesh(impl->mesh, ranks, "parallel");
    });
  }
  return std::unique_ptr<Pipeline>(new Pipeline(std::move(impl)));
}

Video Pipeline::generate(const Request& request, const Callbacks& callbacks, const CancelToken* cancel) {
  std::lock_guard<std::mutex> lock(impl_->busy);
  api::Components& components = *impl_->components;
  const pipeline::GenerationParams p =
      api::with_category(ErrorCategory::kBadInput, [&] {
        pipeline::GenerationParams resolved = api::resolve_request(request, impl_->defaults, components);
        if (impl_->world) check_request_fits_mesh(resolved, impl_->mesh, components.dit_config(), components.vae_config());
        if (impl_->world && request.step_cache) {
          fail_about("step_cache", "runs in one process, not across a launcher's ranks");
        }
        return resolved;
      });
  const std::string negative = pipeline::effective_negative_prompt(request.negative_prompt, p);
  const RequestMonitor monitor(callbacks, cancel, impl_->world.get());
  c10::InferenceMode inference;
  Video video;
  video.prompt = request.prompt;
  video.seed = request.seed;
  video.fps = static_cast<double>(p.fps);
  video.parameters = parameters_of(p, negative);
  components.take_load_seconds();
  api::with_category(ErrorCategory::kInternal, [&] {
    monitor.check("text");
    auto start = Clock::now();
    const auto [context, negative_context] = encode_texts(components, request.prompt, negative, p.guidance != 1.0);
    monitor.report("text", 1, 1);
    video.seconds.text = since(start);
    start = Clock::now();
    if (impl_->world && !impl_->distributed) {
      impl_->distributed = std::make_unique<parallel::DistributedDiT>(*impl_->world, components.dit(), impl_->mesh);
    }
    video.latents = sample_latents(components, p, request, context, negative_context, monitor, impl_->preview,
                                   impl_->distributed.get());
    if (components.settings().memory == MemoryPolicy::kPerStage) impl_->distributed.reset();
    components.release_dit();
    video.seconds.sampling = since(start);
    start = Clock::now();
    video.frames = decode_frames(components, video.latents, monitor);
    video.seconds.decode = since(start);
  });
  video.seconds.load = components.take_load_seconds();
  return video;
}

Parameters Pipeline::defaults() const {
  return parameters_of(impl_->defaults, pipeline::effective_negative_prompt(std::nullopt, impl_->defaults));
}

bool Pipeline::has_preview() const { return impl_->preview.has_value(); }

int64_t Pipeline::component_loads() const { return impl_->components->loads(); }

int Pipeline::rank() const { return impl_->world ? impl_->world->rank() : 0; }

int Pipeline::world_size() const { return impl_->world ? impl_->world->size() : 1; }

std::string Pipeline::broadcast(const std::string& message) {
  if (!impl_->world || impl_->world->size() == 1) return message;
  std::lock_guard<std::mutex> lock(impl_->busy);
  return api::with_category(ErrorCategory::kInternal, [&] {
    // Two broadcasts: the length, then the bytes (Gloo's broadcast needs one shape everywhere).
    const parallel::Communicator& ranks = impl_->world->global();
    at::Tensor length = at::full({1}, static_cast<int64_t>(message.size()), at::kLong);
    ranks.broadcast(length, 0);
    const int64_t size = length.item<int64_t>();
    at::Tensor bytes = at::zeros({std::max<int64_t>(size, 1)}, at::kByte);  // never an empty collective
    if (ranks.rank() == 0) std::memcpy(bytes.data_ptr(), message.data(), message.size());
    ranks.broadcast(bytes, 0);
    return std::string(static_cast<const char*>(bytes.data_ptr()), static_cast<size_t>(size));
  });
}

}  // namespace osp
