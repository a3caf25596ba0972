#include "osp/train/train_config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "osp/core/error.h"
#include "osp/train/yaml_section.h"

namespace osp::train {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using yaml::Section;
using yaml::resolve;
using yaml::to_json;

// A component config's error under `where`, unless its message already names the config file.
[[noreturn]] void rethrow_under(const Error& e, const std::string& where) {
  if (std::string(e.what()).rfind(where.substr(0, where.find(':')), 0) == 0) throw e;
  throw Error(where, e.what());
}


void read_model(Section s, const std::string& base_dir, TrainConfig& c) {
  const int given = int(s.has("config")) + int(s.has("preset")) + int(s.has("fields"));
  if (given != 1) s.fail_field("", "give exactly one of config (a DiT config.json), preset or fields");
  try {
    if (s.has("config")) {
      c.model = dit::DiTConfig::from_file(resolve(s.get<std::string>("config", ""), base_dir));
    } else if (s.has("preset")) {
      c.model = dit::DiTConfig::preset(s.get<std::string>("preset", ""));
    } else {
      const YAML::Node fields = s.node("fields");
      if (!fields.IsMap()) s.fail_field("fields", "must be a mapping of DiT config fields");
      c.model = dit::DiTConfig::from_json(to_json(fields), c.source + ": model.fields");
    }
  } catch (const Error& e) {
    rethrow_under(e, c.source + ": model");
  }
  if (!c.model.unknown_fields.empty()) s.fail_field("fields", "unknown DiT field {}", c.model.unknown_fields.front());
  c.model_weights = resolve(s.get<std::string>("weights", ""), base_dir);
  c.init_seed = s.get<uint64_t>("init_seed", 0);
  s.finish();
}

// A VAE config from YAML fields: the diffusers AutoencoderKLWan names (models/vae/config.h);
// unknown names are errors here (a training config is checked strictly), and a model trained from
// scratch starts with latents_mean 0 and latents_std 1 (the checkpoint measures the real ones).
vae::VaeConfig vae_from_fields(Section& s, const YAML::Node& fields, const std::string& source) {
  if (!fields.IsMap()) s.fail_field("fields", "must be a mapping of VAE config fields");
  json j = to_json(fields);
  const json known = vae::VaeConfig().to_json();
  for (const auto& item : j.items()) {
    if (!known.contains(item.key()) && item.key() != "dim") s.fail_field("fields", "unknown VAE field {}", item.key());
  }
  const int64_t z = j.contains("z_dim") && j["z_dim"].is_number_integer() ? j["z_dim"].get<int64_t>() : 16;
  if (!j.contains("latents_mean")) j["latents_mean"] = std::vector<double>(static_cast<size_t>(std::max<int64_t>(z, 1)), 0.0);
  if (!j.contains("latents_std")) j["latents_std"] = std::vector<double>(static_cast<size_t>(std::max<int64_t>(z, 1)), 1.0);
  return vae::VaeConfig::from_json(j, source + ": vae.fields");
}

void read_vae(Section s, const std::string& base_dir, TrainConfig& c) {
  const int given = int(s.has("config")) + int(s.has("fields"));
  if (given != 1) s.fail_field("", "give exactly one of config (a VAE config.json) or fields");
  try {
    c.vae = s.has("config") ? vae::VaeConfig::from_file(resolve(s.get<std::string>("config", ""), base_dir))
                            : vae_from_fields(s, s.node("fields"), c.source);
  } catch (const Error& e) {
    rethrow_under(e, c.source + ": vae");
  }
  c.kl_weight = s.get<double>("kl_weight", c.kl_weight);
  if (!(c.kl_weight >= 0)) s.fail_field("kl_weight", "must be ≥ 0, got {}", c.kl_weight);
  c.model_weights = resolve(s.get<std::string>("weights", ""), base_dir);
  c.init_seed = s.get<uint64_t>("init_seed", 0);
  c.freeze_encoder = s.get<bool>("freeze_encoder", c.freeze_encoder);
  if (c.freeze_encoder && c.model_weights.empty()) {
    s.fail_field("freeze_encoder", "needs trained weights (vae.weights): a random encoder would stay random");
  }
  c.first_frame_weight = s.get<double>("first_frame_weight", c.first_frame_weight);
  if (!(c.first_frame_weight > 0)) s.fail_field("first_frame_weight", "must be > 0, got {}", c.first_frame_weight);
  c.foreground_weight = s.get<double>("foreground_weight", c.foreground_weight);
  if (!(c.foreground_weight > 0)) s.fail_field("foreground_weight", "must be > 0, got {}", c.foreground_weight);
  c.edge_weight = s.get<double>("edge_weight", c.edge_weight);
  if (!(c.edge_weight >= 0)) s.fail_field("edge_weight", "must be ≥ 0, got {}", c.edge_weight);
  s.finish();
}

// lora: a LoRA trained on the frozen DiT. Unset fields take OSP-Next's values (rank 32, alpha 64,
// q/k/v/o of self- and cross-attention, gaussian init).
void read_lora(Section s, TrainConfig& c) {
  adapters::LoraTrainingSpec spec;
  spec.rank = s.get<int64_t>("rank", spec.rank);
  spec.alpha = s.get<double>("alpha", spec.alpha);
  if (s.has("targets")) {
    try {
      spec.targets = s.node("targets").as<std::vector<std::string>>();
    } catch (const YAML::Exception&) {
      s.fail_field("targets", "must be a list of module names (e.g. [self_attn.q, cross_attn.o, ffn.0])");
    }
  }
  spec.init = s.get<std::string>("init", spec.init);
  s.finish();
  try {
    spec.validate(s.field(""));
  } catch (const Error& e) {
    throw Error(c.source, e.what());
  }
  c.lora = spec;
}

// data.videos (VAE training): a manifest of video clips and the clip geometry.
void read_video_data(Section& s, const std::string& base_dir, TrainConfig& c) {
  c.videos = resolve(s.get<std::string>("videos", ""), base_dir);
  c.clip_frames = s.get<int64_t>("frames", c.clip_frames);
  c.clip_size = s.get<int64_t>("size", c.clip_size);
  c.clip_fps = s.get<double>("fps", c.clip_fps);
  if (c.clip_frames < 1 || (c.clip_frames - 1) % c.vae->time_factor() != 0) {
    s.fail_field("frames", "must be {}k + 1 (the VAE's temporal factor), got {}", c.vae->time_factor(), c.clip_frames);
  }
  if (c.clip_size < 1 || c.clip_size % c.vae->space_factor() != 0) {
    s.fail_field("size", "must be a positive multiple of {} (the VAE's spatial factor), got {}",
                 c.vae->space_factor(), c.clip_size);
  }
  if (!(c.clip_fps >= 0)) s.fail_field("fps", "must be ≥ 0 (0: the files' rate), got {}", c.clip_fps);
  c.clip_crop = s.get<int64_t>("crop", c.clip_crop);
  if (c.clip_crop < 0 || c.clip_crop > c.clip_size || c.clip_crop % c.vae->space_factor() != 0) {
    s.fail_field("crop", "must be 0 (whole clips) or a multiple of {} up to size {}, got {}", c.vae->space_factor(),
                 c.clip_size, c.clip_crop);
  }
}

void read_synthetic(Section s, TrainConfig& c) {
  SyntheticData d;
  d.samples = s.get<int64_t>("samples", d.samples);
  d.channels = s.get<int64_t>("channels", c.model.in_dim);
  d.frames = s.get<int64_t>("frames", d.frames);
  d.height = s.get<int64_t>("height", d.height);
  d.width = s.get<int64_t>("width", d.width);
  d.text_tokens = s.get<int64_t>("text_tokens", std::min<int64_t>(d.text_tokens, c.model.text_len));
  d.text_dim = s.get<int64_t>("text_dim", c.model.text_dim);
  d.seed = s.get<uint64_t>("seed", 0);
  s.finish();
  if (d.samples < 1) s.fail_field("samples", "must be at least 1, got {}", d.samples);
  if (d.channels != c.model.in_dim) s.fail_field("channels", "{} differs from the model's in_dim {}", d.channels, c.model.in_dim);
  const std::pair<const char*, int64_t> sizes[3] = {{"frames", d.frames}, {"height", d.height}, {"width", d.width}};
  for (int a = 0; a < 3; ++a) {
    if (sizes[a].second < 1 || sizes[a].second % c.model.patch_size[a] != 0) {
      s.fail_field(sizes[a].first, "must be a positive multiple of the patch size {}, got {}", c.model.patch_size[a],
                   sizes[a].second);
    }
  }
  if (d.text_tokens < 1 || d.text_tokens > c.model.text_len) {
    s.fail_field("text_tokens", "must be in 1..{} (the model's text_len), got {}", c.model.text_len, d.text_tokens);
  }
  if (d.text_dim != c.model.text_dim) s.fail_field("text_dim", "{} differs from the model's text_dim {}", d.text_dim, c.model.text_dim);
  c.synthetic = d;
}

void read_data(Section s, const std::string& base_dir, TrainConfig& c) {
  if (c.trains_vae()) {
    if (!s.has("videos")) s.fail_field("videos", "is required to train a VAE (a manifest of video clips)");
    read_video_data(s, base_dir, c);
    s.finish();
    return;
  }
  const int given = int(s.has("manifest")) + int(s.has("synthetic"));
  if (given != 1) s.fail_field("", "give exactly one of manifest (a cached manifest of `osp data cache`) or synthetic");
  c.manifest = resolve(s.get<std::string>("manifest", ""), base_dir);
  if (s.has("synthetic")) read_synthetic(s.section("synthetic"), c);
  s.finish();
}

// optimizer.decay, decay_start, min_lr (lr_schedule.h); read after the run's steps.
void read_lr_decay(Section& s, TrainConfig& c) {
  try {
    c.lr_decay = parse_lr_decay(s.get<std::string>("decay", lr_decay_name(c.lr_decay)));
  } catch (const Error& e) {
    s.fail_field("decay", "{}", e.what());
  }
  if (c.lr_decay == LrDecay::kConstant) {
    for (const char* key : {"decay_start", "min_lr"}) {
      if (s.has(key)) s.fail_field(key, "applies to a linear or cosine decay; this run's learning rate is constant");
    }
    return;
  }
  c.decay_start = s.get<int64_t>("decay_start", c.warmup_steps);
  if (c.decay_start < c.warmup_steps || c.decay_start >= c.steps - 1) {
    s.fail_field("decay_start", "must be in [warmup_steps, steps − 1) = [{}, {}), got {}", c.warmup_steps, c.steps - 1,
                 c.decay_start);
  }
  c.min_lr = s.get<double>("min_lr", c.min_lr);
  if (!(c.min_lr >= 0 && c.min_lr <= c.optimizer.lr)) {
    s.fail_field("min_lr", "must be in [0, lr = {}], got {}", c.optimizer.lr, c.min_lr);
  }
}

void read_optimizer(Section s, TrainConfig& c) {
  AdamWOptions& o = c.optimizer;
  o.lr = s.get<double>("lr", o.lr);
  if (!(o.lr > 0)) s.fail_field("lr", "must be positive, got {}", o.lr);
  if (s.has("betas")) {
    const YAML::Node betas = s.node("betas");
    std::vector<double> values;
    try {
      values = betas.as<std::vector<double>>();
    } catch (const YAML::Exception&) {
    }
    if (values.size() != 2) s.fail_field("betas", "must be a list of two numbers, got {}", YAML::Dump(betas));
    o.beta1 = values[0];
    o.beta2 = values[1];
    for (double b : values) {
      if (!(b >= 0 && b < 1)) s.fail_field("betas", "each must be in [0, 1), got {}", b);
    }
  }
  o.eps = s.get<double>("eps", o.eps);
  if (!(o.eps > 0)) s.fail_field("eps", "must be positive, got {}", o.eps);
  o.weight_decay = s.get<double>("weight_decay", o.weight_decay);
  if (!(o.weight_decay >= 0)) s.fail_field("weight_decay", "must be ≥ 0, got {}", o.weight_decay);
  c.warmup_steps = s.get<int64_t>("warmup_steps", c.warmup_steps);
  if (c.warmup_steps < 0) s.fail_field("warmup_steps", "must be ≥ 0, got {}", c.warmup_steps);
  c.grad_clip = s.get<double>("grad_clip", c.grad_clip);
  if (!(c.grad_clip >= 0)) s.fail_field("grad_clip", "must be ≥ 0 (0: no clipping), got {}", c.grad_clip);
  read_lr_decay(s, c);
  s.finish();
}

// The DiT's object weighting (latent_foreground.h); a VAE run weights pixels with vae.foreground_weight.
void read_latent_foreground(Section& s, TrainConfig& c) {
  for (const char* key : {"latent_foreground_weight", "latent_foreground_distance"}) {
    if (c.trains_vae() && s.has(key)) s.fail_field(key, "weights a DiT's latents; a VAE run uses vae.foreground_weight");
  }
  c.latent_foreground_weight = s.get<double>("latent_foreground_weight", c.latent_foreground_weight);
  if (!(c.latent_foreground_weight > 0)) {
    s.fail_field("latent_foreground_weight", "must be > 0 (1: plain mean), got {}", c.latent_foreground_weight);
  }
  c.latent_foreground_distance = s.get<double>("latent_foreground_distance", c.latent_foreground_distance);
  if (!(c.latent_foreground_distance > 0)) {
    s.fail_field("latent_foreground_distance", "must be > 0, got {}", c.latent_foreground_distance);
  }
}

void read_run(Section& s, TrainConfig& c, const std::string& base_dir) {
  const auto at_least = [&](const char* key, int64_t value, int64_t min) {
    if (value < min) s.fail_field(key, "must be at least {}, got {}", min, value);
    return value;
  };
  const auto fraction = [&](const char* key, double value) {
    if (!(value >= 0 && value <= 1)) s.fail_field(key, "must be in [0, 1], got {}", value);
    return value;
  };
  c.steps = at_least("steps", s.get<int64_t>("steps", c.steps), 1);
  c.batch_size = at_least("batch_size", s.get<int64_t>("batch_size", c.batch_size), 1);
  c.grad_accum = at_least("grad_accum", s.get<int64_t>("grad_accum", c.grad_accum), 1);
  c.ema_decay = fraction("ema_decay", s.get<double>("ema_decay", c.ema_decay));
  c.caption_dropout = fraction("caption_dropout", s.get<double>("caption_dropout", c.caption_dropout));
  c.seed = s.get<uint64_t>("seed", c.seed);
  read_latent_foreground(s, c);
  c.checkpoint_every = at_least("checkpoint_every", s.get<int64_t>("checkpoint_every", c.checkpoint_every), 0);
  c.log_every = at_least("log_every", s.get<int64_t>("log_every", c.log_every), 1);
  c.threads = static_cast<int>(at_least("threads", s.get<int64_t>("threads", 0), 0));
  try {
    const std::string fallback = c.trains_vae() ? "fp32" : c.precision.name();
    c.precision = Precision::parse(s.get<std::string>("precision", fallback), "precision");
  } catch (const Error& e) {
    throw Error(c.source, e.what());
  }
  if (c.trains_vae() && c.precision.name() != "fp32") {
    s.fail_field("precision", "the VAE trains in fp32 (its only precision), got {}", c.precision.name());
  }
  c.output_dir = resolve(s.get<std::string>("output_dir", ""), base_dir);
  if (c.output_dir.empty()) s.fail_field("output_dir", "is required (checkpoints, logs and the loss curve go there)");
}

// parallel: how the data-parallel ranks hold the model; activation_checkpointing beside it, since
// full sharding relies on recomputing every block.
void read_parallel(Section& top, TrainConfig& c) {
  Section s = top.section("parallel");
  read_parallel_settings(s, c);
  if (c.sequence_parallel() > 1 && c.trains_vae()) {
    s.fail_field(c.sp > 1 ? "sp" : "ssp", "splits a DiT's token sequence; the VAE trains data parallel only");
  }
  if (c.shard == Sharding::kFull && c.trains_vae()) {
    s.fail_field("shard", "full sharding cuts a DiT into its blocks; the VAE trains replicated (shard: none)");
  }
  const bool full = c.shard == Sharding::kFull;
  c.activation_checkpointing = top.get<bool>("activation_checkpointing", full);
  if (c.activation_checkpointing && c.trains_vae()) {
    top.fail_field("activation_checkpointing", "recomputes DiT blocks; a VAE run has none");
  }
  if (full && !c.activation_checkpointing) {
    top.fail_field("activation_checkpointing",
                   "must stay true with parallel.shard: full (a block's gathered weights are freed after its "
                   "forward, so backward recomputes the block)");
  }
}

}  // namespace

TrainConfig TrainConfig::from_yaml(const std::string& text, const std::string& source, const std::string& base_dir) {
  const YAML::Node root = yaml::load_mapping(text, source);
  TrainConfig c;
  c.source = source;
  Section top(root, "", source);
  if (top.has("model") == top.has("vae")) top.fail_field("model", "give exactly one of model (a DiT) or vae");
  if (!top.has("data")) top.fail_field("data", "is required");
  if (top.has("vae")) {
    read_vae(top.section("vae"), base_dir, c);
  } else {
    read_model(top.section("model"), base_dir, c);
  }
  if (top.has("lora")) {
    if (c.trains_vae()) top.fail_field("lora", "LoRA training adapts a DiT (model:), not a VAE");
    read_lora(top.section("lora"), c);
  }
  read_data(top.section("data"), base_dir, c);
  read_run(top, c, base_dir);
  read_optimizer(top.section("optimizer"), c);
  read_parallel(top, c);
  top.finish();
  return c;
}

LrSchedule TrainConfig::lr_schedule() const {
  LrSchedule schedule;
  schedule.lr = optimizer.lr;
  schedule.warmup_steps = warmup_steps;
  schedule.decay = lr_decay;
  schedule.decay_start = decay_start;
  schedule.total_steps = steps;
  schedule.min_lr = min_lr;
  return schedule;
}

TrainConfig TrainConfig::from_file(const std::string& path) {
  return from_yaml(yaml::read_file(path), path, fs::path(path).parent_path().string().empty() ? "." : fs::path(path).parent_path().string());
}

std::string TrainConfig::model_name() const {
  return trains_vae() ? fmt::format("wan vae (base {}, z {})", vae->base_dim, vae->z_dim) : model.arch_name();
}

}  // namespace osp::train
