#pragma once
// The initial noise of a generation (docs/sampling.md "Wan 2.1 defaults", "Noise").
//
// Generator (documented so that results can be reproduced): LibTorch's CPU generator
// (at::CPUGeneratorImpl, a Mersenne Twister mt19937 seeded with `seed`) and at::randn into a float32
// CPU tensor — the same draw as Python's
//   torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float32)
// with the same torch version (OSP-Next draws its noise on the CPU this way, "Noise"; checked equal to
// Debian's python3-torch 1.13.1 for seed 1024, shape [16, 5, 8, 12]). The same seed on
// the same machine and LibTorch build gives the same bytes; LibTorch versions and CPU vector paths
// may differ between machines, so for cross-implementation comparisons pass the noise explicitly
// (load_noise, `--noise FILE.safetensors`).
#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

namespace osp::diffusion {

// float32 N(0, 1) noise of `shape` on the CPU from `seed` (see above).
at::Tensor initial_noise(at::IntArrayRef shape, uint64_t seed);

// How much the VAE compresses time and space: Wan 2.1's 4 and 8 by default; a VAE config's
// time_factor() / space_factor() for others (the osp-next-tiny VAE compresses space by 4).
struct LatentStrides {
  int64_t time = 4;
  int64_t space = 8;
};

// The latent shape of a video (docs/sampling.md "Wan 2.1 defaults"): [channels, (frames − 1)/t + 1, height/s, width/s] for strides
// t, s. Requires frames = t·k + 1 and sizes divisible by s (osp::Error otherwise).
std::vector<int64_t> latent_shape(int64_t frames, int64_t height, int64_t width, int64_t channels = 16,
                                  LatentStrides strides = {});

// Loads initial noise from a safetensors (or any TensorSource) file: the tensor named "noise", or the
// file's only tensor. It must be float32 and have `expected_shape`, optionally with a leading batch
// dimension of 1 (dropped or added to match). Errors name the file and what was found.
at::Tensor load_noise(const std::string& path, at::IntArrayRef expected_shape);

}  // namespace osp::diffusion
