#pragma once
// `osp data shapes`: the synthetic Shapes text–video dataset written as mp4 clips plus a JSONL
// manifest (docs/training-data.md). Deterministic: clip i depends only on (seed, i, size, frames,
// split), so the same seed gives the same clips and manifest.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "osp/shapes/grammar.h"
#include "osp/shapes/render.h"

namespace osp::shapes {

struct ShapesDatasetOptions {
  std::string out;        // output folder (created); clips go to out/videos/, the manifest to out/manifest.jsonl
  int64_t count = 0;      // clips
  uint64_t seed = 0;
  int64_t size = 64;      // frame side in pixels (multiple of 16)
  int64_t frames = 17;    // 4k + 1
  double fps = 16;        // frame rate written into the mp4 files
  Split split = Split::kTrain;
  bool progress = true;
};

// One clip of the dataset: attributes and layout drawn from ShapesRandom::for_clip(seed, index).
struct ShapesClip {
  ShapeAttributes attributes;
  ClipLayout layout;
};
ShapesClip sample_clip(uint64_t seed, int64_t index, Split split);

// The manifest line of a clip: {"video", "caption", "shape", "color", "background", "motion"}.
nlohmann::ordered_json shapes_manifest_line(const std::string& video, const ShapeAttributes& attributes);

// Throws osp::Error naming the flag (--count, --size, --frames, --fps) for invalid options.
void check_shapes_options(const ShapesDatasetOptions& options);

// Renders and writes every clip (in parallel over clips), then the manifest (atomically).
// Returns the clips written, in manifest order.
std::vector<ShapesClip> write_shapes_dataset(const ShapesDatasetOptions& options);

// Every caption of the grammar, one per line (all_captions()), written atomically: the corpus a
// SentencePiece tokenizer for this domain is trained on.
void write_caption_corpus(const std::string& path);

// "videos/000042.mp4": the clip's path relative to the dataset folder.
std::string shapes_video_name(int64_t index);

}  // namespace osp::shapes
