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

// The latent shape of a video ("Wan 2.1 defaults"): [channels, (frames − 1)/4 + 1, height/8, width/8]. Requires
// frames = 4k + 1 and sizes divisible by 8 (osp::Error otherwise).
std::vector<int64_t> latent_shape(int64_t frames, int64_t height, int64_t width, int64_t channels = 16);

// Loads initial noise from a safetensors (or any TensorSource) file: the tensor named "noise", or the
// file's only tensor. It must be float32 and have `expected_shape`, optionally with a leading batch
// dimension of 1 (dropped or added to match). Errors name the file and what was found.
at::Tensor load_noise(const std::string& path, at::IntArrayRef expected_shape);

}  // namespace osp::diffusion
