#include "osp/models/vae/config.h"

#include <fstream>
#include <set>

#include "osp/core/error.h"
#include "osp/core/log.h"

namespace osp::vae {
namespace {

using nlohmann::json;

// docs/vae.md "Latent normalization".
const std::vector<double> kWanMean = {-0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508,
                                      0.4134,  -0.0715, 0.5517,  -0.3632, -0.1922, -0.9497, 0.2503, -0.2921};
const std::vector<double> kWanStd = {2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743,
                                     3.2687, 2.1526, 2.8652, 1.5579, 1.6382, 1.1253, 2.8251, 1.9160};

// Fields of diffusers' AutoencoderKLWan config ("Diffusers names") that this engine reads or may safely ignore.
const std::set<std::string>& known_fields() {
  static const std::set<std::string> fields = {
      "_class_name", "_diffusers_version", "_name_or_path", "base_dim", "dim", "z_dim", "dim_mult",
      "num_res_blocks", "attn_scales", "temperal_downsample", "dropout", "latents_mean", "latents_std",
      "decoder_base_dim", "is_residual", "in_channels", "out_channels", "patch_size", "scale_factor_temporal",
      "scale_factor_spatial"};
  return fields;
}

template <typename T>
std::vector<T> read_list(const json& j, const char* key, const std::string& source) {
  const json& v = j.at(key);
  if (!v.is_array()) fail_about(source, "field '{}' must be a list, got {}", key, v.dump());
  std::vector<T> out;
  for (const json& item : v) {
    const bool ok = std::is_same<T, bool>::value ? item.is_boolean()
                    : std::is_integral<T>::value ? item.is_number_integer()
                                                 : item.is_number();
    if (!ok) fail_about(source, "field '{}' has an element of the wrong type: {}", key, item.dump());
    out.push_back(item.get<T>());
  }
  return out;
}

int64_t read_int(const json& j, const char* key, const std::string& source) {
  const json& v = j.at(key);
  if (!v.is_number_integer()) fail_about(source, "field '{}' must be an integer, got {}", key, v.dump());
  return v.get<int64_t>();
}

bool present(const json& j, const char* key) { return j.contains(key) && !j.at(key).is_null(); }

// Fields whose other values describe a different VAE than the Wan 2.1 one this engine implements.
void reject_unsupported(const json& j, const std::string& source) {
  if (present(j, "attn_scales") && !j.at("attn_scales").empty()) {
    fail_about(source, "field 'attn_scales' = {}: only [] (Wan 2.1: attention in the middle blocks only) is supported",
               j.at("attn_scales").dump());
  }
  if (present(j, "is_residual") && j.at("is_residual").get<bool>()) {
    fail_about(source, "field 'is_residual' = true is the Wan 2.2 VAE, which is not supported");
  }
  if (present(j, "patch_size")) fail_about(source, "field 'patch_size' is set: the Wan 2.2 VAE is not supported");
  if (present(j, "decoder_base_dim") && read_int(j, "decoder_base_dim", source) != read_int(j, j.contains("base_dim") ? "base_dim" : "dim", source)) {
    fail_about(source, "field 'decoder_base_dim' differs from base_dim: not supported");
  }
  for (const char* key : {"in_channels", "out_channels"}) {
    if (present(j, key) && read_int(j, key, source) != 3) fail_about(source, "field '{}' must be 3 (RGB)", key);
  }
  if (present(j, "_class_name") && j.at("_class_name") != "AutoencoderKLWan") {
    fail_about(source, "_class_name is {}, expected \"AutoencoderKLWan\"", j.at("_class_name").dump());
  }
}

}  // namespace

VaeConfig VaeConfig::wan21() {
  VaeConfig c;
  c.latents_mean = kWanMean;
  c.latents_std = kWanStd;
  return c;
}

VaeConfig VaeConfig::from_json(const json& j, const std::string& source) {
  if (!j.is_object()) fail_about(source, "expected a JSON object");
  reject_unsupported(j, source);
  VaeConfig c = wan21();
  if (present(j, "base_dim")) c.base_dim = read_int(j, "base_dim", source);
  else if (present(j, "dim")) c.base_dim = read_int(j, "dim", source);
  if (present(j, "z_dim")) c.z_dim = read_int(j, "z_dim", source);
  if (present(j, "dim_mult")) c.dim_mult = read_list<int64_t>(j, "dim_mult", source);
  if (present(j, "num_res_blocks")) c.num_res_blocks = read_int(j, "num_res_blocks", source);
  if (present(j, "temperal_downsample")) c.temperal_downsample = read_list<bool>(j, "temperal_downsample", source);
  if (present(j, "latents_mean")) c.latents_mean = read_list<double>(j, "latents_mean", source);
  if (present(j, "latents_std")) c.latents_std = read_list<double>(j, "latents_std", source);
  if (c.z_dim != 16 && (!present(j, "latents_mean") || !present(j, "latents_std"))) {
    fail_about(source, "z_dim = {} needs latents_mean and latents_std (the Wan 2.1 constants have 16 channels)",
               c.z_dim);
  }
  for (const auto& item : j.items()) {
    if (!known_fields().count(item.key())) log::warn("{}: unknown VAE config field '{}' ignored", source, item.key());
  }
  try {
    c.validate();
  } catch (const Error& e) {
    fail_about(source, "{}", e.what());
  }
  return c;
}

VaeConfig VaeConfig::from_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail_about(path, "cannot open VAE config");
  json j;
  try {
    in >> j;
  } catch (const std::exception& e) {
    fail_about(path, "not valid JSON: {}", e.what());
  }
  return from_json(j, path);
}

json VaeConfig::to_json() const {
  return json{{"_class_name", "AutoencoderKLWan"},
              {"base_dim", base_dim},
              {"z_dim", z_dim},
              {"dim_mult", dim_mult},
              {"num_res_blocks", num_res_blocks},
              {"attn_scales", json::array()},
              {"temperal_downsample", temperal_downsample},
              {"dropout", 0.0},
              {"latents_mean", latents_mean},
              {"latents_std", latents_std}};
}

void VaeConfig::validate() const {
  require(base_dim >= 1 && z_dim >= 1 && num_res_blocks >= 1, "base_dim, z_dim and num_res_blocks must be >= 1");
  require(dim_mult.size() >= 2, "dim_mult needs at least 2 levels, got {}", dim_mult.size());
  for (int64_t m : dim_mult) require(m >= 1, "dim_mult entries must be >= 1");
  // The decoder halves the channels in every upsampling step ("Building blocks" Resample): they must be even.
  for (size_t i = 1; i < dim_mult.size(); ++i) {
    require((base_dim * dim_mult[dim_mult.size() - i]) % 2 == 0, "base_dim * dim_mult must be even (upsampling halves channels)");
  }
  require(temperal_downsample.size() == dim_mult.size() - 1, "temperal_downsample needs {} entries (levels − 1), got {}",
          dim_mult.size() - 1, temperal_downsample.size());
  require(static_cast<int64_t>(latents_mean.size()) == z_dim && static_cast<int64_t>(latents_std.size()) == z_dim,
          "latents_mean and latents_std need z_dim = {} values each, got {} and {}", z_dim, latents_mean.size(),
          latents_std.size());
  for (double s : latents_std) require(s > 0, "latents_std values must be positive");
}

std::vector<bool> VaeConfig::temperal_upsample() const {
  return std::vector<bool>(temperal_downsample.rbegin(), temperal_downsample.rend());
}

int64_t VaeConfig::time_factor() const {
  int64_t f = 1;
  for (bool t : temperal_downsample) f *= t ? 2 : 1;
  return f;
}

int64_t VaeConfig::space_factor() const { return int64_t{1} << (levels() - 1); }

int64_t VaeConfig::latent_frames(int64_t video_frames) const { return (video_frames - 1) / time_factor() + 1; }

int64_t VaeConfig::video_frames(int64_t latent_frames) const { return time_factor() * (latent_frames - 1) + 1; }

}  // namespace osp::vae
