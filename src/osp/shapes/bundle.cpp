#include "osp/shapes/bundle.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "osp/core/error.h"
#include "osp/models/t5/neighbour_prior.h"
#include "osp/models/t5/tokenizer_training.h"
#include "osp/shapes/tokenizer.h"

namespace osp::shapes {

std::string shapes_tokenizer_model() {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / fmt::format("osp-shapes-tokenizer-{}", ::getpid());
  train_caption_tokenizer(dir.string());
  std::ifstream in(dir / "spiece.model", std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (bytes.str().empty()) fail_about(dir.string(), "the Shapes tokenizer was not written");
  return t5::strip_training_paths(bytes.str());
}

pipeline::RandomBundleSpec shapes_bundle_spec() {
  pipeline::RandomBundleSpec spec = pipeline::tiny_bundle_spec();
  spec.tokenizer = &shapes_tokenizer_model;
  spec.text_encoder = [](int64_t vocab_size) {
    t5::T5Config c = pipeline::tiny_text_encoder_config(vocab_size);
    c.text_len = kShapesTextLen;
    return c;
  };
  // A frozen random encoder is a bag of words; the prior keeps which colour names the object and
  // which the background (neighbour_prior.h).
  spec.shape_text_encoder = [](t5::T5Encoder& encoder) { t5::apply_neighbour_prior(encoder); };
  spec.dit = [](const t5::T5Config& text_encoder, const vae::VaeConfig& vae) {
    dit::DiTConfig c = pipeline::tiny_dit_config(text_encoder, vae);
    c.text_len = text_encoder.text_len;
    return c;
  };
  spec.defaults.negative_prompt = "";
  spec.defaults.steps = 20;  // the evaluated setting of models/osp-next-tiny (its model card)
  spec.about = "osp-next-tiny: an OSP-Next text-to-video model trained on the synthetic Shapes dataset by `osp train` "
               "(models/osp-next-tiny/README.md).";
  return spec;
}

}  // namespace osp::shapes
