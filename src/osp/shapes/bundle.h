#pragma once
// The bundle of the shipped model osp-next-tiny (models/osp-next-tiny/README.md): the Shapes word tokenizer, a small
// frozen umT5-architecture text encoder with random weights (seeded: the text embeddings the DiT
// is trained on and the ones the bundle computes are the same), and the VAE and DiT trained by
// `osp train` (configs/train/). `osp init-bundle --captions shapes` writes the bundle with random
// DiT and VAE, which is where the text encoder of training comes from; with --dit / --vae
// checkpoints it writes the shipped model.
#include <string>

#include "osp/pipeline/tiny_bundle.h"

namespace osp::shapes {

// Captions have at most 10 tokens; 32 leaves room for other phrasings.
constexpr int64_t kShapesTextLen = 32;

// The bytes of the Shapes tokenizer's spiece.model (shapes/tokenizer.h), free of training paths.
std::string shapes_tokenizer_model();

// The spec: tokenizer above, tiny umT5 with text_len 32, the tiny random VAE and DiT (replaced by
// trained components when the caller sets them), 64×64 × 17 frames, negative prompt "" (the empty
// caption of caption dropout).
pipeline::RandomBundleSpec shapes_bundle_spec();

}  // namespace osp::shapes
