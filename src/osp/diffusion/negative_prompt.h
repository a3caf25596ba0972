#pragma once
// The official default negative prompt (docs/sampling.md "Default negative prompt": Wan's sample_neg_prompt; OSP-Next's
// NEGATIVE_PROMPT is the identical string), used when the user gives none.
#include <string>

namespace osp::diffusion {

// Exact UTF-8 bytes of the reference string.
extern const char* const kDefaultNegativePrompt;

// `negative` when non-empty, else the default: an empty negative prompt is replaced, as in Wan and
// the OSP-Next pipeline ("Guidance and the negative prompt").
std::string negative_prompt_or_default(const std::string& negative);

}  // namespace osp::diffusion
