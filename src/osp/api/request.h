#pragma once
// A library request (include/osp/pipeline.h) checked and turned into the pipeline's parameters
// before any work: the request's fields over the model's defaults, the same checks as `osp
// generate`, a prompt that is non-empty valid UTF-8, a size that the VAE and the DiT's patches
// tile, and given noise of the right shape. osp::Error naming the field.
#include <ATen/ATen.h>

#include <vector>

#include "osp/api/components.h"
#include "osp/pipeline.h"
#include "osp/pipeline/generation_params.h"

namespace osp::api {

pipeline::GenerationParams resolve_request(const Request& request, const pipeline::GenerationParams& defaults,
                                           const Components& components);

// `noise` as float32 `shape` (a leading batch dimension of 1 dropped); osp::Error naming "noise".
at::Tensor checked_noise(const at::Tensor& noise, const std::vector<int64_t>& shape);

// The request's initial noise of `shape`: its tensor (kBadInput when wrong), its file's (kBadFile)
// or its seed's.
at::Tensor request_noise(const Request& request, const std::vector<int64_t>& shape);

}  // namespace osp::api
