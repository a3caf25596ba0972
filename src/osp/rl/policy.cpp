#include "osp/rl/policy.h"

#include <ATen/CPUGeneratorImpl.h>

#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/diffusion/negative_prompt.h"
#include "osp/diffusion/noise.h"
#include "osp/io/content_hash.h"
#include "osp/models/dit/loader.h"
#include "osp/models/vae/loader.h"
#include "osp/pipeline/prompt_encoding.h"
#include "osp/pipeline/text_to_video.h"

namespace osp::rl {
namespace {

pipeline::GenerationParams video_params(const RlConfig& c, const pipeline::ModelBundle& bundle) {
  pipeline::GenerationParams p = pipeline::defaults_for(bundle);
  if (c.width > 0) p.width = c.width;
  if (c.height > 0) p.height = c.height;
  if (c.frames > 0) p.frames = c.frames;
  try {
    pipeline::validate(p);
  } catch (const Error& e) {
    throw Error(c.source + ": video", e.what());
  }
  return p;
}

std::string negative_prompt_of(const pipeline::GenerationParams& p) {
  return p.negative_prompt ? *p.negative_prompt : diffusion::negative_prompt_or_default("");
}

}  // namespace

at::Tensor Policy::context_batch(const std::vector<std::string>& prompts) const {
  std::vector<at::Tensor> rows;
  for (const std::string& p : prompts) rows.push_back(contexts.at(p));
  return at::cat(rows);
}

at::Tensor Policy::negative_batch(int64_t batch) const {
  return contexts.at(negative_prompt).expand({batch, -1, -1}).contiguous();
}

std::vector<int64_t> Policy::latent_shape() const {
  const vae::VaeConfig& v = vae->config();
  return diffusion::latent_shape(video.frames, video.height, video.width, dit->config().in_dim,
                                 {v.time_factor(), v.space_factor()});
}

Policy load_policy(const RlConfig& c) {
  Policy p;
  p.bundle = pipeline::resolve_bundle(c.model);
  p.video = video_params(c, p.bundle);
  p.negative_prompt = negative_prompt_of(p.video);
  std::vector<std::string> texts = c.prompt_list;
  texts.insert(texts.end(), c.eval_prompt_list.begin(), c.eval_prompt_list.end());
  texts.push_back(p.negative_prompt);
  p.contexts = pipeline::encode_prompts(p.bundle, texts, {c.precision, c10::kCPU, std::nullopt});
  log::info("rl: {} distinct texts encoded", p.contexts.size());

  if (c.shard == train::Sharding::kFull) {
    dit::UnloadedDiT unloaded = dit::build_unloaded_dit(p.bundle.dit.path, p.bundle.dit.config, c.precision, c10::kCPU);
    p.dit = std::move(unloaded.model);
    p.unloaded_base = unloaded.weights;
  } else {
    p.dit = dit::load_dit(p.bundle.dit.path, p.bundle.dit.config, c.precision, c10::kCPU);
  }
  for (const auto& param : p.dit->parameters()) {
    param.requires_grad_(false);  // the base is frozen: no gradient, no optimizer state
  }
  p.base_identity = {{"path", p.bundle.dit.path}, {"sha256", io::sha256_files(io::weight_files(p.bundle.dit.path))}};
  p.lora = adapters::make_trainable_lora(*p.dit, c.lora, at::detail::createCPUGenerator(c.seed));
  p.lora.attach(*p.dit);
  p.vae = vae::load_vae(p.bundle.vae.path, p.bundle.vae.config, c10::kCPU);
  log::info("rl: base {} frozen, LoRA rank {} on {} linears ({} trainable values)", p.bundle.dit.path, c.lora.rank,
            p.lora.entries().size(), p.lora.parameter_count());
  return p;
}

}  // namespace osp::rl
