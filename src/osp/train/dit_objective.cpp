#include "osp/train/dit_objective.h"

#include <map>

#include "osp/core/error.h"
#include "osp/core/shape.h"
#include "osp/diffusion/training_schedule.h"
#include "osp/io/content_hash.h"
#include "osp/io/tensor_source.h"
#include "osp/models/dit/loader.h"
#include "osp/models/dit/random_weights.h"
#include "osp/train/latent_foreground.h"
#include "osp/train/sample_random.h"

namespace osp::train {
namespace {

// Context rows zero-padded to text_len (the model pads the same way, docs/dit.md "Forward pass" step 3).
at::Tensor pad_context(const at::Tensor& context, const dit::DiTConfig& c, const std::string& what) {
  if (context.numel() == 0) return at::zeros({c.text_len, c.text_dim}, at::kFloat);  // no null context: zeros
  if (context.dim() != 2 || context.size(1) != c.text_dim || context.size(0) > c.text_len) {
    fail_about(what, "context {} does not fit the model (expected [≤ {}, {}])", shape_string(context.sizes()),
               c.text_len, c.text_dim);
  }
  return at::constant_pad_nd(context.to(at::kFloat), {0, 0, 0, c.text_len - context.size(0)}, 0);
}

// One sample with its random draws (docs/sampling.md "Training noise schedule" steps 1–2, the caption-dropout coin).
struct Draw {
  at::Tensor x0, noise, sigma, context;  // [C, T, H, W], same, [1], [text_len, text_dim]
};

}  // namespace

DiTObjective::DiTObjective(const TrainConfig& config, std::unique_ptr<SampleSource> data)
    : config_(config), data_(std::move(data)) {
  model_ = std::make_unique<dit::WanDiT>(config_.model, config_.precision);
  if (config_.shard == Sharding::kFull) {
    // Shapes and dtypes only: the values stream into the shards later (stream_initial_weights).
    for (const auto& item : model_->named_parameters()) {
      base_params_.emplace_back(item.key(), at::empty(item.value().sizes(), item.value().options().device(c10::kMeta)));
    }
  } else if (!config_.model_weights.empty()) {
    dit::load_weights(*model_, *io::open_tensor_source(config_.model_weights));
  } else {
    dit::randomize_weights(*model_, config_.init_seed);
  }
  null_context_ = pad_context(data_->null_context(), config_.model, "null context");
  if (config_.lora) attach_lora();
}

void DiTObjective::stream_initial_weights(
    const std::function<void(const std::string&, const at::Tensor&)>& visit) const {
  if (config_.model_weights.empty()) {
    dit::for_each_random_weight(base_params_, config_.init_seed, visit);
    return;
  }
  torch::OrderedDict<std::string, at::Tensor> params;
  for (const auto& [name, shape] : base_params_) params.insert(name, shape);
  dit::for_each_checkpoint_weight(params, *io::open_tensor_source(config_.model_weights), visit);
}

std::set<std::string> DiTObjective::streamed_names() const {
  std::set<std::string> names;
  for (const auto& item : base_params_) names.insert(item.first);
  return names;
}

void DiTObjective::attach_lora() {
  for (const auto& p : model_->parameters()) p.requires_grad_(false);  // the base is frozen
  base_identity_ = {{"path", config_.model_weights.empty() ? fmt::format("random (init_seed {})", config_.init_seed)
                                                           : config_.model_weights},
                    {"sha256", config_.model_weights.empty() ? fmt::format("random-{}", config_.init_seed)
                                                             : io::sha256_files(io::weight_files(config_.model_weights))}};
  lora_ = adapters::make_trainable_lora(*model_, *config_.lora, sample_generator(config_.seed, -1));
  lora_->attach(*model_);
}

nlohmann::json DiTObjective::model_config() {
  nlohmann::json j = config_.model.to_json();
  if (lora_) {
    const adapters::LoraTrainingSpec& spec = *config_.lora;
    j["lora"] = {{"rank", spec.rank}, {"alpha", spec.alpha}, {"targets", spec.targets}, {"init", spec.init},
                 {"base", base_identity_}};
  }
  return j;
}

std::vector<std::pair<std::string, at::Tensor>> DiTObjective::trained_tensors() {
  return lora_ ? adapters::peft_tensors(*lora_) : Objective::trained_tensors();
}

std::map<std::string, std::string> DiTObjective::checkpoint_files() const {
  if (!lora_) return {};
  return {{"adapter_config.json", adapters::adapter_config(*config_.lora).dump(2) + "\n"}};
}

std::string DiTObjective::describe() const {
  std::string what = fmt::format("{} ({} parameters)", config_.model.arch_name(), config_.model.parameter_count());
  if (lora_) {
    what += fmt::format(" frozen, LoRA rank {} alpha {} on {} linears ({} trainable values)", config_.lora->rank,
                        config_.lora->alpha, lora_->entries().size(), lora_->parameter_count());
  }
  return what + ", " + data_->describe();
}

at::Tensor DiTObjective::loss(const std::vector<SampleRef>& samples) {
  // The samples with their draws, grouped by latent shape (one forward per shape).
  std::map<std::vector<int64_t>, std::vector<Draw>> groups;
  for (const SampleRef& ref : samples) {
    const TrainSample sample = data_->get(ref.index);
    const std::string what = fmt::format("sample {}", ref.index);
    if (sample.latents.dim() != 4 || sample.latents.size(0) != config_.model.in_dim) {
      fail_about(what, "latents {} are not [{}, T, H, W]", shape_string(sample.latents.sizes()), config_.model.in_dim);
    }
    at::Generator g = sample_generator(config_.seed, ref.serial);
    Draw d;
    const bool dropped = at::rand({1}, g, at::kDouble).item<double>() < config_.caption_dropout;
    d.x0 = sample.latents.to(at::kFloat);
    // "Training noise schedule" steps 1–2: logit-normal σ with the dynamic shift of this latent size.
    d.sigma = diffusion::sample_training_sigmas(1, d.x0.size(2), d.x0.size(3), g);
    d.noise = at::normal(0.0, 1.0, d.x0.sizes(), g, at::TensorOptions().dtype(at::kFloat));
    d.context = dropped ? null_context_ : pad_context(sample.context, config_.model, what);
    groups[d.x0.sizes().vec()].push_back(std::move(d));
  }

  at::Tensor squares;
  double weight = 0;  // C·Σ w over every group: the number of elements when nothing is weighted
  for (const auto& [shape, draws] : groups) {
    std::vector<at::Tensor> x0, noise, sigma, context;
    for (const Draw& d : draws) {
      x0.push_back(d.x0);
      noise.push_back(d.noise);
      sigma.push_back(d.sigma);
      context.push_back(d.context);
    }
    const at::Tensor X0 = at::stack(x0), N = at::stack(noise), S = at::cat(sigma);
    // "Training noise schedule" steps 3–4: x_σ = σ·ε + (1 − σ)·x0, timestep 1000·σ, target ε − x0, fp32
    // squares (weighted on the object's latent pixels when latent_foreground_weight ≠ 1).
    const at::Tensor v = model_->forward(diffusion::interpolate(X0, N, S), diffusion::training_timesteps(S),
                                         at::stack(context), parallel_);
    const at::Tensor diff = v.to(at::kFloat) - diffusion::velocity_target(X0, N);
    const WeightedSquares group =
        weighted_squares(diff, X0, config_.latent_foreground_weight, config_.latent_foreground_distance);
    squares = squares.defined() ? squares + group.sum : group.sum;
    weight += group.weight;
  }
  return squares / weight;
}

}  // namespace osp::train
