#include "osp/train/vae_objective.h"

#include <ATen/core/grad_mode.h>

#include <algorithm>

#include "osp/core/error.h"
#include "osp/io/tensor_source.h"
#include "osp/models/vae/loader.h"
#include "osp/models/vae/random_weights.h"
#include "osp/train/edge_loss.h"
#include "osp/train/reconstruction_weights.h"
#include "osp/train/sample_random.h"

namespace osp::train {
namespace {

constexpr int64_t kStatisticsClips = 32;  // clips encoded to measure latents_mean / latents_std
constexpr int64_t kStatisticsBatch = 8;

// log-variance clamp of the reference's DiagonalGaussian (keeps exp() finite early in training).
constexpr double kMinLogvar = -30.0, kMaxLogvar = 20.0;

std::vector<double> to_vector(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kDouble).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

// A window × window spatial crop of clip [3, T, H, W] at a random position (the VAE is
// convolutional: small windows train it at a fraction of the cost of whole frames).
at::Tensor random_window(const at::Tensor& clip, int64_t window, at::Generator& g) {
  if (window == clip.size(2) && window == clip.size(3)) return clip;
  const auto offset = [&](int64_t extent) {
    return at::randint(extent - window + 1, {1}, g, at::TensorOptions().dtype(at::kLong)).item<int64_t>();
  };
  const int64_t y = offset(clip.size(2)), x = offset(clip.size(3));
  return clip.narrow(2, y, window).narrow(3, x, window);
}

}  // namespace

at::Tensor gaussian_kl(const at::Tensor& mu, const at::Tensor& logvar) {
  return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar);
}

VaeObjective::VaeObjective(const TrainConfig& config) : config_(config), manifest_(read_manifest(config.videos)) {
  if (!manifest_.all_video()) fail_about(config_.videos, "data.videos must list video samples ({{\"video\": …}})");
  clips_.frames = config_.clip_frames;
  clips_.fps = config_.clip_fps;
  clips_.size = config_.clip_size;
  check_clip_config(clips_);
  vae_ = std::make_unique<vae::WanVAE>(*config_.vae);
  if (!config_.model_weights.empty()) {
    vae::load_weights(*vae_, *io::open_tensor_source(config_.model_weights));
  } else {
    vae::randomize_weights(*vae_, config_.init_seed);
  }
}

std::string VaeObjective::describe() const {
  int64_t parameters = 0;
  for (const auto& p : vae_->parameters()) parameters += p.numel();
  return fmt::format("wan vae base {} z {} ({} parameters), {} clips of {} frames at {}x{} from {}",
                     config_.vae->base_dim, config_.vae->z_dim, parameters, manifest_.entries.size(),
                     clips_.frames, clips_.size, clips_.size, config_.videos);
}

vae::VaeConfig VaeObjective::architecture() const {
  vae::VaeConfig c = *config_.vae;
  c.latents_mean.assign(static_cast<size_t>(c.z_dim), 0.0);
  c.latents_std.assign(static_cast<size_t>(c.z_dim), 1.0);
  return c;
}

at::Tensor VaeObjective::clip(int64_t index) const {
  const ManifestEntry& e = manifest_.entries.at(static_cast<size_t>(index));
  return load_clip(e.video, clips_, Resolution{clips_.size, clips_.size});
}

at::Tensor VaeObjective::loss(const std::vector<SampleRef>& samples) {
  std::vector<at::Tensor> clips, noise;
  const int64_t z = config_.vae->z_dim;
  const int64_t latent_frames = config_.vae->latent_frames(clips_.frames);
  const int64_t window = config_.clip_crop > 0 ? config_.clip_crop : clips_.size;
  const int64_t side = window / config_.vae->space_factor();
  for (const SampleRef& ref : samples) {
    at::Generator g = sample_generator(config_.seed, ref.serial);
    clips.push_back(random_window(clip(ref.index), window, g));
    noise.push_back(at::normal(0.0, 1.0, {z, latent_frames, side, side}, g, at::TensorOptions().dtype(at::kFloat)));
  }
  const at::Tensor x = at::stack(clips);
  // docs/vae.md "Encoder": the posterior's moments; a reparameterized sample z = mu + exp(logvar/2)·ε.
  const at::Tensor moments = encode_moments(x);
  const at::Tensor mu = moments.narrow(1, 0, z);
  const at::Tensor logvar = moments.narrow(1, z, z).clamp(kMinLogvar, kMaxLogvar);
  const at::Tensor sample = mu + (0.5 * logvar).exp() * at::stack(noise);
  std::vector<at::Tensor> frames;
  vae_->decode_raw(sample, [&](const at::Tensor& f) { frames.push_back(f); });
  const at::Tensor reconstruction = at::cat(frames, 2);
  const at::Tensor weights = reconstruction_weights(x, config_.first_frame_weight, config_.foreground_weight);
  at::Tensor loss = weighted_mean((reconstruction - x).abs(), weights);
  if (config_.edge_weight > 0) loss = loss + config_.edge_weight * edge_l1(reconstruction, x);
  return loss + config_.kl_weight * gaussian_kl(mu, logvar).mean();
}

at::Tensor VaeObjective::encode_moments(const at::Tensor& x) const {
  if (!config_.freeze_encoder) return vae_->encode_moments(x);
  at::NoGradGuard frozen;  // no graph through the encoder: half the backward
  return vae_->encode_moments(x);
}

bool VaeObjective::frozen(const std::string& parameter) const {
  return config_.freeze_encoder && (parameter.rfind("encoder.", 0) == 0 || parameter.rfind("conv1.", 0) == 0);
}

nlohmann::json VaeObjective::checkpoint_config() {
  at::NoGradGuard no_grad;
  const int64_t n = std::min<int64_t>(kStatisticsClips, data_size());
  std::vector<at::Tensor> means;
  for (int64_t start = 0; start < n; start += kStatisticsBatch) {
    std::vector<at::Tensor> clips;
    // Evenly spaced clips over the data: a fixed, representative subset.
    for (int64_t i = start; i < std::min(n, start + kStatisticsBatch); ++i) clips.push_back(clip(i * data_size() / n));
    means.push_back(vae_->encode_moments(at::stack(clips)).narrow(1, 0, config_.vae->z_dim));
  }
  // Per channel over every sample, frame and pixel: [z, N·T'·h·w].
  const at::Tensor mu = at::cat(means, 0).transpose(0, 1).reshape({config_.vae->z_dim, -1}).to(at::kDouble);
  vae::VaeConfig c = architecture();
  c.latents_mean = to_vector(mu.mean(1));
  c.latents_std = to_vector(mu.std(1).clamp_min(1e-6));
  return c.to_json();
}

}  // namespace osp::train
