#pragma once
// Tiny Wan VAE configurations (docs/vae.md) with random latent statistics: shared by vae_test.cpp
// (parity with the float64 formulation of vae_reference.h) and cuda_parity_test.cpp.
#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "osp/models/vae/config.h"
#include "test_util.h"

namespace osp::test::vae_tiny {

struct TinyCase {
  const char* name;
  int64_t base_dim, z_dim;
  std::vector<int64_t> dim_mult;
  int64_t num_res_blocks;
  std::vector<bool> temporal;
  int64_t height, width;  // video pixels
};

inline vae::VaeConfig tiny_config(const TinyCase& c, uint64_t seed) {
  vae::VaeConfig cfg;
  cfg.base_dim = c.base_dim;
  cfg.z_dim = c.z_dim;
  cfg.dim_mult = c.dim_mult;
  cfg.num_res_blocks = c.num_res_blocks;
  cfg.temperal_downsample = c.temporal;
  at::Tensor mean = randn({c.z_dim}, seed), std = at::rand({c.z_dim}) + 0.5;
  for (int64_t i = 0; i < c.z_dim; ++i) {
    cfg.latents_mean.push_back(mean[i].item<double>());
    cfg.latents_std.push_back(std[i].item<double>());
  }
  return cfg;
}

inline const std::vector<TinyCase>& tiny_cases() {
  static const std::vector<TinyCase> cases = {
      // The Wan 2.1 layout at width 4: 8× space, 4× time ([false, true, true]).
      {"wan_layout", 4, 4, {1, 2, 4, 4}, 2, {false, true, true}, 16, 24},
      // Temporal downsampling first, one residual block, 3 levels: 4× space, 4× time.
      {"time_first", 6, 3, {1, 2, 2}, 1, {true, true}, 12, 8},
      // 8× in time (three temporal levels), odd z.
      {"time_8x", 4, 5, {1, 1, 2, 2}, 1, {true, true, true}, 8, 16},
      // Spatial only: one frame per chunk.
      {"space_only", 4, 4, {1, 2}, 1, {false}, 6, 10},
  };
  return cases;
}

}  // namespace osp::test::vae_tiny
