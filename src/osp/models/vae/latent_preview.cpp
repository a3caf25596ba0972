#include "osp/models/vae/latent_preview.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "osp/core/error.h"
#include "osp/core/shape.h"
#include "osp/io/atomic_file.h"
#include "osp/io/json_file.h"

namespace osp::vae {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// [z, T', h, w] → rows x = (z, 1): [T'·h·w, z + 1] float64.
at::Tensor design_rows(const at::Tensor& latents) {
  const at::Tensor z = latents.to(at::kDouble).flatten(1).t();
  return at::cat({z, at::ones({z.size(0), 1}, z.options())}, 1);
}

std::vector<double> numbers(const json& j, size_t count, const std::string& path, const char* field) {
  if (!j.is_array() || j.size() != count) fail_about(path, "'{}' must be a list of {} numbers", field, count);
  std::vector<double> out;
  for (const json& v : j) {
    if (!v.is_number() || !std::isfinite(v.get<double>())) fail_about(path, "'{}' holds a non-finite or non-number value", field);
    out.push_back(v.get<double>());
  }
  return out;
}

}  // namespace

LatentPreviewFit::LatentPreviewFit(int64_t z_dim, int64_t time_factor, int64_t space_factor)
    : z_dim_(z_dim), time_factor_(time_factor), space_factor_(space_factor),
      gram_(at::zeros({z_dim + 1, z_dim + 1}, at::kDouble)), cross_(at::zeros({z_dim + 1, 3}, at::kDouble)),
      sum_sq_(at::zeros({3}, at::kDouble)) {}

at::Tensor latent_pixel_colours(const at::Tensor& video, int64_t time_factor, int64_t space_factor) {
  const int64_t frames = video.size(1);
  std::vector<at::Tensor> groups{video.narrow(1, 0, 1)};
  for (int64_t start = 1; start < frames; start += time_factor) {
    groups.push_back(video.narrow(1, start, time_factor).mean(1, /*keepdim=*/true));
  }
  const at::Tensor per_frame = at::cat(groups, 1).to(at::kDouble);  // [3, T', H, W]
  return at::avg_pool2d(per_frame, {space_factor, space_factor});  // pools the last two dims
}

void LatentPreviewFit::add(const at::Tensor& latents, const at::Tensor& video) {
  if (latents.dim() != 4 || latents.size(0) != z_dim_) {
    fail_about("latents", "expected [{}, T', h, w], got {}", z_dim_, shape_string(latents.sizes()));
  }
  const int64_t t = latents.size(1), h = latents.size(2), w = latents.size(3);
  const std::vector<int64_t> expected{3, time_factor_ * (t - 1) + 1, h * space_factor_, w * space_factor_};
  if (video.sizes() != at::IntArrayRef(expected)) {
    fail_about("video", "expected {} for latents {}, got {}", shape_string(expected), shape_string(latents.sizes()),
               shape_string(video.sizes()));
  }
  const at::Tensor x = design_rows(latents);
  const at::Tensor rgb = latent_pixel_colours(video, time_factor_, space_factor_).flatten(1).t();  // [n, 3]
  gram_.add_(x.t().mm(x));
  cross_.add_(x.t().mm(rgb));
  sum_sq_.add_(rgb.square().sum(0));
  samples_ += x.size(0);
}

LatentPreview LatentPreviewFit::solve() const {
  if (samples_ == 0) fail_about("latent preview", "no samples to fit");
  const double ridge = 1e-9 * std::max(1.0, gram_.diagonal().max().item<double>());
  const at::Tensor regularized = gram_ + ridge * at::eye(z_dim_ + 1, at::kDouble);
  const at::Tensor solution = at::linalg_solve(regularized, cross_);  // [z + 1, 3]
  return {solution.narrow(0, 0, z_dim_).t().contiguous(), solution[z_dim_].contiguous()};
}

LatentPreviewQuality LatentPreviewFit::quality(const LatentPreview& preview) const {
  // With θ = (W, b) stacked as [z + 1, 3]: residual = Σy² − 2 θᵀ(Σ x y) + θᵀ (Σ x xᵀ) θ, per channel.
  const at::Tensor theta = at::cat({preview.weight.t(), preview.bias.view({1, 3})}, 0);
  const at::Tensor residual = sum_sq_ - 2 * (theta * cross_).sum(0) + (theta * gram_.mm(theta)).sum(0);
  const at::Tensor mean = cross_[z_dim_] / static_cast<double>(samples_);  // the constant column's row: Σ y
  const at::Tensor total = sum_sq_ - static_cast<double>(samples_) * mean.square();
  const double r = residual.sum().item<double>(), t = total.sum().item<double>();
  return {std::sqrt(std::max(0.0, r) / static_cast<double>(3 * samples_)), t > 0 ? 1.0 - r / t : 0.0};
}

at::Tensor preview_rgb(const at::Tensor& latents, const LatentPreview& preview) {
  const at::Tensor z = latents.to(at::kDouble);  // [z, T', h, w]
  const at::Tensor rgb = at::tensordot(preview.weight, z, {1}, {0}) + preview.bias.view({3, 1, 1, 1});
  return rgb.clamp(-1, 1).add(1).mul(127.5).round().to(at::kByte).permute({1, 2, 3, 0}).contiguous();
}

LatentPreview read_latent_preview(const std::string& path, int64_t z_dim) {
  const json j = io::read_json_object_file(path, "the latent preview file");
  if (!j.contains("weight") || !j.contains("bias")) fail_about(path, "needs 'weight' and 'bias'");
  const json& rows = j.at("weight");
  if (!rows.is_array() || rows.size() != 3) fail_about(path, "'weight' must be 3 rows of {} numbers", z_dim);
  std::vector<double> weight;
  for (const json& row : rows) {
    const std::vector<double> r = numbers(row, static_cast<size_t>(z_dim), path, "weight");
    weight.insert(weight.end(), r.begin(), r.end());
  }
  const std::vector<double> bias = numbers(j.at("bias"), 3, path, "bias");
  return {at::tensor(weight, at::kDouble).view({3, z_dim}), at::tensor(bias, at::kDouble)};
}

void write_latent_preview(const std::string& path, const LatentPreview& preview, int64_t samples,
                          const LatentPreviewQuality& quality) {
  json weight = json::array();
  const at::Tensor w = preview.weight.contiguous();
  for (int64_t c = 0; c < 3; ++c) {
    json row = json::array();
    for (int64_t k = 0; k < w.size(1); ++k) row.push_back(w[c][k].item<double>());
    weight.push_back(row);
  }
  json bias = json::array();
  for (int64_t c = 0; c < 3; ++c) bias.push_back(preview.bias[c].item<double>());
  const json j = {{"about", "rgb = weight · z + bias per latent pixel (docs/vae.md \"Latent preview\")"},
                  {"weight", weight},
                  {"bias", bias},
                  {"fitted_on_latent_pixels", samples},
                  {"rms_error", quality.rms_error},
                  {"r_squared", quality.r_squared}};
  io::write_file_atomically(path, j.dump(2) + "\n");
}

std::string latent_preview_path(const std::string& vae_weights) {
  const fs::path p(vae_weights);
  return ((fs::is_directory(p) ? p : p.parent_path()) / "latent_preview.json").string();
}

}  // namespace osp::vae
