#pragma once
// `osp init-bundle`: a complete text-to-video model bundle with tiny random weights, written by
// the engine itself (no download, no Python), for smoke tests and the end-to-end tests of
// `osp generate`; the trained default model is models/osp-next-tiny. Its videos are noise-like
// patterns, not pictures of the prompt.
//
// Layout (an OSP bundle, bundle.h):
//   config.json                  components + generation defaults (64×64, 17 frames, 8 steps)
//   tokenizer/spiece.model       SentencePiece BPE trained on tiny_caption_corpus(), umT5 ids
//   text_encoder/model.safetensors + config.json     umT5 encoder (HF config fields, Wan names)
//   dit/diffusion_pytorch_model.safetensors + config.json   OSP-Next DiT (dual_end Skiparse)
//   vae/diffusion_pytorch_model.safetensors + config.json   Wan VAE (AutoencoderKLWan config)
// Weights are stored in bf16 (the loaders convert to each precision's dtype): 2.6 MiB in all.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "osp/models/dit/config.h"
#include "osp/models/t5/config.h"
#include "osp/models/t5/encoder.h"
#include "osp/models/vae/config.h"
#include "osp/pipeline/bundle.h"

namespace osp::pipeline {

struct TinyBundleOptions {
  uint64_t seed = 0;       // the same seed gives byte-identical files
  bool overwrite = false;  // write into a non-empty directory (replacing the bundle's files)
};

struct WrittenFile {
  std::string path;  // relative to the bundle directory
  int64_t bytes = 0;
};

// The components' configurations. The text encoder's vocabulary is the tokenizer's size; the
// DiT's in/out channels are the VAE's z_dim and its text_dim/text_len the encoder's.
t5::T5Config tiny_text_encoder_config(int64_t vocab_size);
vae::VaeConfig tiny_vae_config();
dit::DiTConfig tiny_dit_config(const t5::T5Config& text_encoder, const vae::VaeConfig& vae);
BundleDefaults tiny_bundle_defaults();
constexpr int64_t kTinyVocabSize = 384;  // SentencePiece pieces

// Any random-weights bundle in the layout above: what `osp bench generate` writes for its
// 1.3B-width case. The text encoder's config follows the trained tokenizer's size and the DiT's
// the encoder's and the VAE's (text_dim, in/out channels).
// A trained component replacing the random one: weights (loaded into the model the config
// describes, which checks every name and shape) and its config.json.
struct TrainedComponent {
  std::string weights, config;
};

struct RandomBundleSpec {
  std::function<t5::T5Config(int64_t vocab_size)> text_encoder;
  // Applied to the text encoder after its random draw (unset: the draw as it is).
  std::function<void(t5::T5Encoder&)> shape_text_encoder;
  vae::VaeConfig vae;
  std::function<dit::DiTConfig(const t5::T5Config&, const vae::VaeConfig&)> dit;
  BundleDefaults defaults;
  std::string about;  // the config's "_about" line
  // The bytes of tokenizer/spiece.model; unset: BPE on tiny_caption_corpus(), kTinyVocabSize.
  std::function<std::string()> tokenizer;
  std::optional<TrainedComponent> trained_dit, trained_vae;  // replace the random DiT / VAE
};

// The tiny bundle's spec (the functions above).
RandomBundleSpec tiny_bundle_spec();

// Writes `spec`'s bundle into `dir` as write_tiny_bundle does (same checks, same order).
std::vector<WrittenFile> write_random_bundle(const std::string& dir, const RandomBundleSpec& spec,
                                             const TinyBundleOptions& options);

// Writes the bundle into `dir` (created when missing), every file atomically, config.json last
// (a bundle that config.json names is complete). Throws osp::Error naming `dir` when it is a
// file, or a non-empty directory and `overwrite` is not set. Returns the files written, in order.
std::vector<WrittenFile> write_tiny_bundle(const std::string& dir, const TinyBundleOptions& options);

}  // namespace osp::pipeline
