#pragma once
// Configuration of the Wan 2.1 VAE (docs/vae.md "Configuration", "Latent normalization", "Diffusers names"): the channel layout, the temporal
// down/upsampling pattern and the latent normalization constants.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace osp::vae {

struct VaeConfig {
  int64_t base_dim = 96;                         // "dim" in the original code
  int64_t z_dim = 16;                            // latent channels
  std::vector<int64_t> dim_mult{1, 2, 4, 4};     // channel multipliers per level
  int64_t num_res_blocks = 2;                    // encoder blocks per level (decoder: +1)
  std::vector<bool> temperal_downsample{false, true, true};  // Wan's vae.py overrides the class default
  std::vector<double> latents_mean;              // z_dim values ("Latent normalization")
  std::vector<double> latents_std;               // z_dim values ("Latent normalization")

  // The released Wan 2.1 VAE ("Configuration", "Latent normalization"): the default when no config is given.
  static VaeConfig wan21();

  // diffusers AutoencoderKLWan vae/config.json ("Diffusers names"); `dim` is accepted for `base_dim`. Unknown
  // fields are ignored with a warning. Throws osp::Error naming `source` and the field.
  static VaeConfig from_json(const nlohmann::json& json, const std::string& source = "config");
  static VaeConfig from_file(const std::string& path);
  // diffusers-style JSON; from_json(to_json()) round-trips.
  nlohmann::json to_json() const;

  // Throws osp::Error naming the offending field.
  void validate() const;

  int64_t levels() const { return static_cast<int64_t>(dim_mult.size()); }
  // Decoder temporal upsampling: the reverse of temperal_downsample ("Configuration").
  std::vector<bool> temperal_upsample() const;
  // Temporal compression factor 2^(number of temporal downsamples): 4 for Wan 2.1.
  int64_t time_factor() const;
  // Spatial compression factor 2^(levels − 1): 8 for Wan 2.1.
  int64_t space_factor() const;
  // Video frames T ↔ latent frames T' ("Configuration"): T = time_factor·(T' − 1) + 1.
  int64_t latent_frames(int64_t video_frames) const;
  int64_t video_frames(int64_t latent_frames) const;
};

}  // namespace osp::vae
