#include "osp/rl/rl_config.h"

#include <cmath>
#include <filesystem>
#include <set>

#include "osp/core/error.h"
#include "osp/models/t5/text_encoding.h"
#include "osp/train/yaml_section.h"

namespace osp::rl {
namespace {

namespace fs = std::filesystem;
using yaml::Section;
using yaml::resolve;

int64_t at_least(Section& s, const char* key, int64_t value, int64_t min) {
  if (value < min) s.fail_field(key, "must be at least {}, got {}", min, value);
  return value;
}

double positive(Section& s, const char* key, double value) {
  if (!(value > 0) || !std::isfinite(value)) s.fail_field(key, "must be a positive number, got {}", value);
  return value;
}

void read_lora(Section s, RlConfig& c) {
  c.lora.rank = s.get<int64_t>("rank", c.lora.rank);
  c.lora.alpha = s.get<double>("alpha", c.lora.alpha);
  if (s.has("targets")) {
    try {
      c.lora.targets = s.node("targets").as<std::vector<std::string>>();
    } catch (const YAML::Exception&) {
      s.fail_field("targets", "must be a list of module names (e.g. [self_attn.q, cross_attn.o])");
    }
  }
  c.lora.init = s.get<std::string>("init", c.lora.init);
  s.finish();
  try {
    c.lora.validate(s.field(""));
  } catch (const Error& e) {
    throw Error(c.source, e.what());
  }
}

void read_video(Section s, RlConfig& c) {
  c.width = at_least(s, "width", s.get<int64_t>("width", c.width), 0);
  c.height = at_least(s, "height", s.get<int64_t>("height", c.height), 0);
  c.frames = at_least(s, "frames", s.get<int64_t>("frames", c.frames), 0);
  s.finish();
}

void read_window(Section s, RlConfig& c) {
  SlidingWindowConfig w;
  w.width = at_least(s, "width", s.get<int64_t>("width", w.width), 1);
  w.iterations = at_least(s, "iterations", s.get<int64_t>("iterations", w.iterations), 1);
  w.stride = at_least(s, "stride", s.get<int64_t>("stride", w.stride), 0);
  w.start = at_least(s, "start", s.get<int64_t>("start", w.start), 0);
  s.finish();
  c.window = w;
}

void read_sampling(Section s, RlConfig& c) {
  c.steps = at_least(s, "steps", s.get<int64_t>("steps", c.steps), 1);
  c.sde_steps = at_least(s, "sde_steps", s.get<int64_t>("sde_steps", c.sde_steps), 1);
  if (c.sde_steps > c.steps) {
    s.fail_field("sde_steps", "{} stochastic steps do not fit in {} sampling steps (sde_steps ≤ steps)", c.sde_steps,
                 c.steps);
  }
  c.timestep_fraction = s.get<double>("timestep_fraction", c.timestep_fraction);
  if (!(c.timestep_fraction > 0 && c.timestep_fraction <= 1)) {
    s.fail_field("timestep_fraction", "must be in (0, 1], got {}", c.timestep_fraction);
  }
  c.shift = positive(s, "shift", s.get<double>("shift", c.shift));
  c.guidance = s.get<double>("guidance", c.guidance);
  if (!(c.guidance >= 1) || !std::isfinite(c.guidance)) s.fail_field("guidance", "must be ≥ 1, got {}", c.guidance);
  if (s.has("window")) read_window(s.section("window"), c);
  s.finish();
  if (c.window && c.window->start + c.window->width > c.steps - 1) {
    s.fail_field("window", "start {} + width {} must stay below steps − 1 = {}", c.window->start, c.window->width,
                 c.steps - 1);
  }
}

void read_policy(Section s, RlConfig& c) {
  c.clip_range = positive(s, "clip_range", s.get<double>("clip_range", c.clip_range));
  c.adv_clip_max = positive(s, "adv_clip_max", s.get<double>("adv_clip_max", c.adv_clip_max));
  c.kl_beta = s.get<double>("kl_beta", c.kl_beta);
  if (!(c.kl_beta >= 0) || !std::isfinite(c.kl_beta)) s.fail_field("kl_beta", "must be ≥ 0, got {}", c.kl_beta);
  c.global_std = s.get<bool>("global_std", c.global_std);
  s.finish();
}

void read_optimizer(Section s, RlConfig& c) {
  train::AdamWOptions& o = c.optimizer;
  o.lr = positive(s, "lr", s.get<double>("lr", o.lr));
  if (s.has("betas")) {
    std::vector<double> values;
    try {
      values = s.node("betas").as<std::vector<double>>();
    } catch (const YAML::Exception&) {
    }
    if (values.size() != 2 || !(values[0] >= 0 && values[0] < 1) || !(values[1] >= 0 && values[1] < 1)) {
      s.fail_field("betas", "must be two numbers in [0, 1)");
    }
    o.beta1 = values[0];
    o.beta2 = values[1];
  }
  o.eps = positive(s, "eps", s.get<double>("eps", o.eps));
  o.weight_decay = s.get<double>("weight_decay", o.weight_decay);
  if (!(o.weight_decay >= 0)) s.fail_field("weight_decay", "must be ≥ 0, got {}", o.weight_decay);
  s.finish();
}

void read_grad_clip(Section s, RlConfig& c) {
  c.init_max_grad_norm = positive(s, "init_max_norm", s.get<double>("init_max_norm", c.init_max_grad_norm));
  c.clip_decay = s.get<double>("decay", c.clip_decay);
  if (!(c.clip_decay > 0 && c.clip_decay < 1)) s.fail_field("decay", "must be in (0, 1), got {}", c.clip_decay);
  s.finish();
}

void read_ema(Section s, RlConfig& c) {
  c.ema_decay = s.get<double>("decay", c.ema_decay);
  if (!(c.ema_decay >= 0 && c.ema_decay < 1)) s.fail_field("decay", "must be in [0, 1), got {}", c.ema_decay);
  c.ema_interval = at_least(s, "interval", s.get<int64_t>("interval", c.ema_interval), 1);
  s.finish();
}

RewardTermConfig read_reward(Section s) {
  RewardTermConfig r;
  r.type = s.get<std::string>("type", "");
  if (r.type != "shapes" && r.type != "command" && r.type != "http") {
    s.fail_field("type", "must be shapes, command or http, got '{}'", r.type);
  }
  r.name = s.get<std::string>("name", r.type);
  r.weight = s.get<double>("weight", r.weight);
  if (!std::isfinite(r.weight)) s.fail_field("weight", "must be a finite number");
  r.command = s.get<std::string>("command", "");
  r.url = s.get<std::string>("url", "");
  r.timeout_s = positive(s, "timeout", s.get<double>("timeout", r.timeout_s));
  if (r.type == "command" && r.command.empty()) s.fail_field("command", "a command reward needs its scorer command");
  if (r.type == "http" && r.url.empty()) s.fail_field("url", "an http reward needs the scorer's URL");
  r.graded = s.get<bool>("graded", false);
  if (r.graded && r.type != "shapes") s.fail_field("graded", "only a shapes reward has graded sub-scores");
  s.finish();
  return r;
}

void read_rewards(Section& top, RlConfig& c) {
  const YAML::Node list = top.node("rewards");
  if (!list.IsSequence() || list.size() == 0) {
    top.fail_field("rewards", "must be a non-empty list of terms, e.g. [{{type: shapes, weight: 1.0}}]");
  }
  std::set<std::string> names;
  for (size_t i = 0; i < list.size(); ++i) {
    RewardTermConfig r = read_reward(Section(list[i], fmt::format("rewards[{}]", i), c.source));
    if (!names.insert(r.name).second) {
      top.fail_field("rewards", "two terms are named '{}' (give them distinct `name:`s)", r.name);
    }
    c.rewards.push_back(std::move(r));
  }
}

void read_eval(Section s, const std::string& base_dir, RlConfig& c) {
  c.eval_prompts = resolve(s.get<std::string>("prompts", ""), base_dir);
  if (c.eval_prompts.empty()) s.fail_field("prompts", "is required in an eval section");
  c.eval_every = at_least(s, "every", s.get<int64_t>("every", 1), 1);
  c.eval_steps = at_least(s, "steps", s.get<int64_t>("steps", c.eval_steps), 1);
  c.eval_seed = s.get<uint64_t>("seed", c.eval_seed);
  s.finish();
}

void read_run(Section& s, const std::string& base_dir, RlConfig& c) {
  c.group_size = at_least(s, "group_size", s.get<int64_t>("group_size", c.group_size), 2);
  c.sample_batch_size = at_least(s, "sample_batch_size", s.get<int64_t>("sample_batch_size", c.sample_batch_size), 1);
  c.train_batch_size = at_least(s, "train_batch_size", s.get<int64_t>("train_batch_size", c.train_batch_size), 1);
  c.batches_per_epoch = at_least(s, "batches_per_epoch", s.get<int64_t>("batches_per_epoch", c.batches_per_epoch), 1);
  c.epochs = at_least(s, "epochs", s.get<int64_t>("epochs", c.epochs), 1);
  c.checkpoint_every = at_least(s, "checkpoint_every", s.get<int64_t>("checkpoint_every", c.checkpoint_every), 1);
  c.seed = s.get<uint64_t>("seed", c.seed);
  try {
    c.precision = Precision::parse(s.get<std::string>("precision", c.precision.name()), "precision");
  } catch (const Error& e) {
    throw Error(c.source, e.what());
  }
  c.output_dir = resolve(s.get<std::string>("output_dir", ""), base_dir);
  if (c.output_dir.empty()) s.fail_field("output_dir", "is required (checkpoints and logs go there)");
}

}  // namespace

int64_t RlConfig::trained_steps() const {
  if (window) return window->width;
  return std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(sde_steps) * timestep_fraction));
}

std::vector<std::string> read_prompts(const std::string& path) {
  std::vector<std::string> prompts;
  for (const std::string& line : t5::read_prompt_file(path)) {
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    prompts.push_back(line);
  }
  if (prompts.empty()) fail_about(path, "holds no prompt (one per line; '#' lines are comments)");
  return prompts;
}

RlConfig RlConfig::from_yaml(const std::string& text, const std::string& source, const std::string& base_dir) {
  const YAML::Node root = yaml::load_mapping(text, source);
  RlConfig c;
  c.source = source;
  Section top(root, "", source);
  c.model = resolve(top.get<std::string>("model", ""), base_dir);
  if (c.model.empty()) top.fail_field("model", "is required (the base model bundle)");
  if (top.has("lora")) read_lora(top.section("lora"), c);
  c.prompts = resolve(top.get<std::string>("prompts", ""), base_dir);
  if (c.prompts.empty()) top.fail_field("prompts", "is required (a prompt file, one prompt per line)");
  if (top.has("video")) read_video(top.section("video"), c);
  if (top.has("sampling")) read_sampling(top.section("sampling"), c);
  if (top.has("policy")) read_policy(top.section("policy"), c);
  if (top.has("optimizer")) read_optimizer(top.section("optimizer"), c);
  if (top.has("grad_clip")) read_grad_clip(top.section("grad_clip"), c);
  if (top.has("ema")) read_ema(top.section("ema"), c);
  read_rewards(top, c);
  if (top.has("eval")) read_eval(top.section("eval"), base_dir, c);
  if (top.has("parallel")) train::read_parallel_settings(top.section("parallel"), c);
  read_run(top, base_dir, c);
  top.finish();
  try {
    c.prompt_list = read_prompts(c.prompts);
    if (!c.eval_prompts.empty()) c.eval_prompt_list = read_prompts(c.eval_prompts);
  } catch (const Error& e) {
    throw Error(c.source, e.what());
  }
  return c;
}

RlConfig RlConfig::from_file(const std::string& path) {
  const std::string dir = fs::path(path).parent_path().string();
  return from_yaml(yaml::read_file(path), path, dir.empty() ? "." : dir);
}

}  // namespace osp::rl
