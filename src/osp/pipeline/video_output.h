#pragma once
// The last stage of a generation: the VAE decodes the final latent and the frames go to the
// output file, streamed chunk by chunk into the video encoder (memory stays at one chunk), or, for
// .safetensors, stored whole next to the latent. The generation parameters go into the file's
// metadata (container tags, or the safetensors __metadata__).
#include <ATen/ATen.h>

#include <string>
#include <utility>
#include <vector>

#include "osp/models/vae/model.h"
#include "osp/pipeline/generation_params.h"

namespace osp::pipeline {

using Metadata = std::vector<std::pair<std::string, std::string>>;

// The tags every generated file carries: title and prompt, negative prompt, seed (or what replaced
// it), size, frames, steps, shift, guidance, sampler and the encoder's name.
Metadata generation_metadata(const std::string& prompt, const std::string& negative, const std::string& seed,
                             const GenerationParams& p);

struct OutputOptions {
  double fps = 16.0;
  int crf = -1;              // video quality (io/video_writer.h); −1: the encoder's default
  int64_t tile_size = 0;     // VAE spatial tiling in pixels (vae/codec.h); 0: untiled, streamed
  int64_t tile_overlap = 64;
};

struct OutputSeconds {
  double decode = 0;  // VAE
  double write = 0;   // colour conversion, encoding and file output
};

// Decodes latents [z, T', h, w] (float32) with `vae` and writes `path` (its kind by
// output_path.h). Returns where the time went.
OutputSeconds decode_and_write(const vae::WanVAE& vae, const at::Tensor& latents, const std::string& path,
                               const Metadata& metadata, const OutputOptions& options);

}  // namespace osp::pipeline
