#pragma once
// `osp data cache`: the VAE latents and text embeddings of a video manifest, computed once and
// stored in safetensors shards with a cached manifest, so that training reads tensors instead of
// decoding video and running the encoders (docs/training-data.md "The latent / text cache").
//
// Layout of the output folder:
//   manifest.jsonl            one cached line per good sample (manifest.h), written last
//   shards/NNNNN.safetensors  per sample i: "<i>/latents" float32 [z, T', H/8, W/8] (normalized,
//                             vae/codec.h) and "<i>/context" float32 [n, d_model] (the real rows
//                             of the T5 output: n = tokens + </s>; the trainer pads with zeros)
//   null_context.safetensors  "context" [n, d_model] of the empty caption (caption dropout)
//   cache.json                settings, counts per bucket, and every skipped sample with its reason
// A sample whose video is missing, unreadable, corrupt or too short is skipped and counted; the run
// fails when more than max_bad_fraction of the samples are bad.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "osp/train/buckets.h"
#include "osp/train/clip_loader.h"

namespace osp::train {

struct DataCacheOptions {
  std::string manifest;             // a video manifest (manifest.h)
  std::string vae, vae_config;      // vae/loader.h paths (config optional)
  std::string text_encoder, text_config;  // t5/loader.h paths (config optional)
  std::string tokenizer;            // folder or spiece.model
  std::string out;                  // output folder (created)
  double max_bad_fraction = 0.01;   // in [0, 1]
  ClipConfig clip;                  // frames, fps, bucket size and aspect ratios
  std::string text_precision = "bf16";  // the text encoder's precision (bf16: the official run)
  std::string device = "cpu";
  int64_t shard_samples = 256;      // samples per shard at most
  int64_t shard_bytes = 256 << 20;  // bytes per shard at most (a shard holds at least one sample)
  int64_t text_batch = 16;          // captions per text-encoder forward
  bool progress = true;
};

struct BadSample {
  int64_t line = 0;     // manifest line
  std::string video;    // resolved path
  std::string reason;   // the error message
};

struct DataCacheReport {
  int64_t total = 0;    // samples in the manifest
  int64_t cached = 0;   // samples written
  int64_t shards = 0;
  std::vector<BadSample> bad;
  std::map<Resolution, int64_t> buckets;  // cached samples per bucket
};

// osp::Error naming the flag for invalid options (before any model is loaded).
void check_data_cache_options(const DataCacheOptions& options);

// Runs the cache. Throws osp::Error naming the manifest once more than max_bad_fraction of its
// samples are bad (the message names the first bad sample and its reason); then no cached
// manifest is written.
DataCacheReport cache_dataset(const DataCacheOptions& options);

// The most bad samples a run of `total` samples tolerates: ⌊fraction · total⌋.
int64_t max_bad_samples(double fraction, int64_t total);

}  // namespace osp::train
