#pragma once
// `osp eval vae`: how much of a Shapes clip survives a VAE round trip (docs/shapes.md). The
// ground-truth clips of a Shapes video manifest (`osp data shapes`) are encoded and decoded; the
// decoded frames are measured (measure.h) against each clip's caption and compared with the input
// frames by PSNR. The input clips are measured too: the reference the round trip is held against.
// With an output folder it writes
//
//   results.jsonl  one line per clip: video, caption, expected attributes, measured attributes and
//                  correct flags of the input and of the decoded clip, the clip's PSNR;
//   summary.json   accuracy per attribute of the input and of the decoded clips, the PSNR over all
//                  clips, the VAE and the measurement settings.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "osp/models/vae/codec.h"
#include "osp/models/vae/model.h"
#include "osp/shapes/accuracy.h"
#include "osp/shapes/measure.h"

namespace osp::shapes {

// A video clip of a Shapes manifest with its caption's attributes.
struct ShapesVideo {
  int64_t line = 0;   // 1-based manifest line
  std::string video;  // resolved path
  std::string caption;
  ShapeAttributes attributes;
};

// The first `count` clips of a Shapes video manifest (every clip when unset). osp::Error naming
// --count for count ≤ 0, the manifest when it cannot be read or holds no video sample, and
// "manifest:line" for a line whose caption is no Shapes caption or that holds no video.
std::vector<ShapesVideo> read_shapes_videos(const std::string& manifest, std::optional<int64_t> count);

struct VaeEvalOptions {
  std::string out;   // output folder (created); empty: nothing is written
  std::string vae;   // what was loaded, for summary.json
  MeasureOptions measure;
  vae::CodecOptions codec;
  bool progress = true;  // a progress bar on stderr
};

struct VaeEvalClip {
  ShapesVideo clip;
  ClipMeasurement input, decoded;
  AttributeCheck input_correct, decoded_correct;
  double squared_error = 0;  // Σ (decoded − input)² over every value, frames in [0, 1]
  int64_t values = 0;        // how many values that sum holds
};

struct VaeEvalResult {
  std::vector<VaeEvalClip> clips;
  AttributeAccuracy input, decoded;
  double psnr_db = 0;  // over every value of every clip (infinite when identical)
};

// 10 log10(1 / mean squared error) for frames in [0, 1]; infinite for 0.
double psnr_db(double squared_error, int64_t values);

// Round-trips, measures and scores every clip (see above). Unreadable clips and clips the VAE
// cannot take (frame count not 4k + 1, sides not multiples of 8) throw osp::Error naming the file.
VaeEvalResult run_vae_eval(const vae::WanVAE& model, const std::vector<ShapesVideo>& clips,
                           const VaeEvalOptions& options);

// The results.jsonl line of a clip and summary.json.
nlohmann::ordered_json vae_eval_clip_json(const VaeEvalClip& clip);
nlohmann::ordered_json vae_eval_summary_json(const VaeEvalResult& result, const VaeEvalOptions& options);

// The table to stdout: attribute | input clips | VAE round trip, each cell "correct/total (xx.x%)",
// one row per attribute, one for all four and a last one for the PSNR of the round trip.
void print_vae_eval_table(const VaeEvalResult& result);

}  // namespace osp::shapes
