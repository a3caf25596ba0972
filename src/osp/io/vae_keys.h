#pragma once
// Key names of Wan VAE checkpoints (docs/vae.md "Checkpoint keys", "Diffusers names"): the
// original Wan2.1_VAE.pth names are canonical; a diffusers AutoencoderKLWan folder's names map onto
// them.
#include <cstdint>
#include <string>

namespace osp::io {

// Original (Wan) name of a diffusers AutoencoderKLWan key ("Diffusers names"); Wan names come back unchanged.
// `num_res_blocks` places decoder.up_blocks.i.* in the flat decoder.upsamples list.
std::string canonical_vae_key(const std::string& name, int64_t num_res_blocks);

}  // namespace osp::io
