#include "osp/bench/rl_bench.h"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>

#include "osp/bench/bench_models.h"
#include "osp/bench/timing.h"
#include "osp/core/error.h"
#include "osp/core/runtime.h"
#include "osp/core/text_table.h"
#include "osp/diffusion/sde_step.h"
#include "osp/pipeline/tiny_bundle.h"
#include "osp/rl/grpo_trainer.h"
#include "osp/rl/rollout.h"
#include "osp/train/dit_objective.h"
#include "osp/train/trainer.h"

namespace osp::bench {
namespace {

namespace fs = std::filesystem;
constexpr double kMiB = 1024.0 * 1024.0;

// The frames' mean brightness: a scorer that costs nothing, so the benchmark times the machinery.
class BrightnessReward : public rl::RewardTerm {
 public:
  std::string describe() const override { return "brightness"; }
  rl::RewardScore score(rl::RewardVideo& video) override { return {video.frames().mean().item<double>(), {}}; }
};

// A random bundle whose DiT is the benchmark config `name` (tiny text encoder and VAE).
void write_bundle(const fs::path& dir, const std::string& name, int64_t layers) {
  pipeline::RandomBundleSpec spec = pipeline::tiny_bundle_spec();
  if (name != "tiny") {
    spec.dit = [name, layers](const t5::T5Config& t5, const vae::VaeConfig& vae) {
      dit::DiTConfig c = bench_dit_config(name, layers);
      c.in_dim = c.out_dim = vae.z_dim;
      c.text_dim = t5.d_model;
      c.text_len = t5.text_len;
      c.validate();
      return c;
    };
  }
  pipeline::write_random_bundle(dir.string(), spec, {});
  std::ofstream(dir / "prompts.txt") << "a red circle moving left on a black background\n";
}

rl::RlConfig bench_config(const fs::path& dir, const RlBenchOptions& o, int64_t size) {
  rl::RlConfig c;
  c.source = "bench";
  c.model = (dir / "bundle").string();
  c.prompts = (dir / "bundle" / "prompts.txt").string();
  c.prompt_list = rl::read_prompts(c.prompts);
  c.width = c.height = size;
  c.frames = o.frames;
  c.steps = o.steps;
  c.sde_steps = o.sde_steps;
  c.group_size = c.sample_batch_size = c.train_batch_size = o.batch;
  c.batches_per_epoch = 1;
  c.epochs = 1;
  c.kl_beta = 0;
  c.lora.rank = 32;
  c.precision = Precision::parse(o.precision, "--precision");
  c.output_dir = (dir / "out").string();
  return c;
}

// Peak RSS of LoRA SFT steps on synthetic latents of the same shape and batch.
double lora_sft_peak(const rl::RlConfig& rl, const dit::DiTConfig& model, const std::vector<int64_t>& latent,
                     const fs::path& dir) {
  train::TrainConfig c;
  c.source = "bench";
  c.model = model;
  c.lora = rl.lora;
  train::SyntheticData d;
  d.samples = rl.train_batch_size;
  d.channels = latent[0];
  d.frames = latent[1];
  d.height = latent[2];
  d.width = latent[3];
  d.text_tokens = model.text_len;
  d.text_dim = model.text_dim;
  c.synthetic = d;
  c.precision = rl.precision;
  c.steps = 2;
  c.batch_size = rl.train_batch_size;
  c.output_dir = (dir / "sft").string();
  reset_peak_rss();
  train::Trainer trainer(c, train::make_objective(c));
  trainer.step();
  trainer.step();
  return static_cast<double>(peak_rss_bytes()) / kMiB;
}

}  // namespace

void run_rl_bench(const RlBenchOptions& o) {
  require(o.batch >= 2 && o.steps >= 1 && o.sde_steps >= 1 && o.sde_steps <= o.steps,
          "--batch must be ≥ 2 and 1 ≤ --sde-steps ≤ --steps");
  fmt::print("osp bench rl: one epoch = 1 rollout batch of {} videos (one group), {} steps ({} SDE, trained), "
             "rank-32 LoRA on q/k/v/o, no KL; {} threads\n",
             o.batch, o.steps, o.sde_steps, at::get_num_threads());
  TextTable time({"config", "tokens", "rollout (s)", "generation (s)", "rollout / gen", "reward (s)", "update (s)",
              "trained step (s)", "forward (s)", "step / forward"});
  TextTable memory({"config", "RL peak RSS (MiB)", "LoRA SFT peak RSS (MiB)", "RL / SFT"});
  for (const std::string& name : o.configs) {
    const fs::path dir = fs::temp_directory_path() / fmt::format("osp_bench_rl_{}_{}", name, ::getpid());
    fs::remove_all(dir);
    write_bundle(dir / "bundle", name, o.layers);
    const rl::RlConfig config = bench_config(dir, o, name == "tiny" ? o.tiny_size : o.wide_size);
    reset_peak_rss();
    rl::Reward reward;
    reward.add("brightness", 1.0, std::make_unique<BrightnessReward>());
    rl::GrpoTrainer trainer(config, std::move(reward));
    trainer.run_epoch();  // warm-up
    const rl::EpochStats s = trainer.run_epoch();
    const double rl_peak = static_cast<double>(peak_rss_bytes()) / kMiB;

    rl::Policy& p = trainer.policy();
    std::vector<int64_t> shape = p.latent_shape();
    const std::vector<int64_t> latent = shape;
    shape.insert(shape.begin(), o.batch);
    const at::Tensor noise = at::randn(shape);
    const at::Tensor cond = p.context_batch(std::vector<std::string>(o.batch, config.prompt_list[0]));
    const at::Tensor uncond = p.negative_batch(o.batch);
    const double generation = time_once_seconds([&] {
      rl::sample_ode(*p.dit, noise, cond, uncond, diffusion::rl_grid(o.steps, config.shift), config.guidance);
    });
    const double forward = time_mean_seconds(2, [&] {
      c10::InferenceMode guard;
      p.dit->forward(noise, at::full({o.batch}, 500.0), cond);
    });
    const int64_t trained_steps = std::max<int64_t>(1, s.kept / config.train_batch_size) * config.trained_steps();
    const double step = s.update_s / static_cast<double>(trained_steps);
    const double sft_peak = lora_sft_peak(config, p.dit->config(), latent, dir);
    const auto& m = p.dit->config();
    const int64_t tokens = latent[1] * (latent[2] / m.patch_size[1]) * (latent[3] / m.patch_size[2]);
    time.add_row({name, std::to_string(tokens), fmt::format("{:.3f}", s.rollout_s), fmt::format("{:.3f}", generation),
                  fmt::format("{:.2f}", s.rollout_s / generation), fmt::format("{:.3f}", s.reward_s),
                  fmt::format("{:.3f}", s.update_s), fmt::format("{:.3f}", step), fmt::format("{:.3f}", forward),
                  fmt::format("{:.2f}", step / forward)});
    memory.add_row({name, fmt::format("{:.0f}", rl_peak), fmt::format("{:.0f}", sft_peak),
                    fmt::format("{:.2f}", rl_peak / sft_peak)});
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  time.print();
  memory.print();
}

}  // namespace osp::bench
