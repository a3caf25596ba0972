#include "osp/api/request.h"

#include <cmath>

#include "osp/api/error_category.h"
#include "osp/core/error.h"
#include "osp/diffusion/noise.h"
#include "osp/core/shape.h"
#include "osp/models/dit/step_cache.h"
#include "osp/models/t5/utf8.h"
#include "osp/pipeline/bundle.h"
#include "osp/pipeline/text_to_video.h"

namespace osp::api {
namespace {

pipeline::BundleDefaults request_fields(const Request& r) {
  pipeline::BundleDefaults fields;
  fields.width = r.width;
  fields.height = r.height;
  fields.frames = r.frames;
  fields.steps = r.steps;
  fields.fps = r.fps;
  fields.shift = r.shift;
  fields.guidance = r.guidance;
  fields.sampler = r.sampler;
  return fields;
}

// Malformed bytes decode to U+FFFD, so a valid string is one that survives the round trip.
bool valid_utf8(const std::string& text) { return t5::encode_utf8(t5::decode_utf8(text)) == text; }

void check_text(const char* field, const std::string& text, bool may_be_empty) {
  if (!valid_utf8(text)) fail_about(field, "is not valid UTF-8");
  if (!may_be_empty && text.find_first_not_of(" \t\r\n") == std::string::npos) fail_about(field, "is empty");
}

}  // namespace

pipeline::GenerationParams resolve_request(const Request& request, const pipeline::GenerationParams& defaults,
                                           const Components& components) {
  check_text("prompt", request.prompt, false);
  if (request.negative_prompt) check_text("negative_prompt", *request.negative_prompt, true);
  for (const LoraRequest& lora : request.loras) {
    if (!std::isfinite(lora.scale)) fail_about("loras", "scale of {} is not a finite number", lora.path);
  }
  if (request.noise && request.noise_file) fail_about("noise_file", "and noise both replace the seed's noise: give one");
  if (request.step_cache) dit::check_step_cache(*request.step_cache, components.dit_config(), "step_cache");
  const pipeline::GenerationParams p = pipeline::overlay(defaults, request_fields(request));
  pipeline::validate(p);
  pipeline::check_video_fits(p, components.dit_config(), components.vae_config());
  return p;
}

at::Tensor checked_noise(const at::Tensor& noise, const std::vector<int64_t>& shape) {
  if (!noise.defined()) fail_about("noise", "is an undefined tensor");
  const at::Tensor n = noise.dim() == static_cast<int64_t>(shape.size()) + 1 && noise.size(0) == 1 ? noise[0] : noise;
  if (n.sizes() != at::IntArrayRef(shape)) {
    fail_about("noise", "has shape {}, but this request's latent is {}", shape_string(noise.sizes()), shape_string(shape));
  }
  if (n.scalar_type() != at::kFloat) fail_about("noise", "must be float32, got {}", c10::toString(n.scalar_type()));
  return n.cpu().contiguous();
}

at::Tensor request_noise(const Request& request, const std::vector<int64_t>& shape) {
  if (request.noise) return with_category(ErrorCategory::kBadInput, [&] { return checked_noise(*request.noise, shape); });
  if (request.noise_file) {
    return with_category(ErrorCategory::kBadFile, [&] { return diffusion::load_noise(*request.noise_file, shape); });
  }
  return diffusion::initial_noise(shape, request.seed);
}

}  // namespace osp::api
