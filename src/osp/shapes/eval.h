#pragma once
// `osp eval shapes`: generates every prompt of a Shapes prompt file with one model bundle (loaded
// once: pipeline::generate runs all prompts in one pass), measures each sample's frames
// (shapes/measure.h) and scores them against the caption. Writes into the output folder:
//
//   results.jsonl      one line per prompt: caption, seed, expected and measured attributes,
//                      correct flags, the measurement's confidence figures, the sample's video;
//   summary.json       accuracy per attribute (object colour, shape, background, motion, all
//                      four) and the generation settings;
//   contact_sheet.png  first, middle and last frame of every sample, framed green when all four
//                      attributes are right, red otherwise;
//   samples/NNN.mp4    the samples (measured before encoding, from the decoder's float frames).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "osp/pipeline/bundle.h"
#include "osp/pipeline/generation_params.h"
#include "osp/pipeline/text_to_video.h"
#include "osp/shapes/accuracy.h"
#include "osp/shapes/contact_sheet.h"
#include "osp/shapes/measure.h"
#include "osp/shapes/prompts.h"

namespace osp::shapes {

struct ShapesEvalOptions {
  std::string out;                            // output folder (created)
  uint64_t seed = 1024;                       // prompt i draws its noise with seed + i
  std::optional<std::string> negative_prompt;  // unset: the pipeline's default
  pipeline::PipelineOptions pipeline;
  MeasureOptions measure;
  ContactSheetLayout sheet;
};

struct ShapesEvalSample {
  ShapesPrompt prompt;
  uint64_t seed = 0;
  std::string video;  // samples/NNN.mp4, relative to the output folder ("" when generation failed)
  std::string error;  // the generation's error; then every attribute counts as wrong
  ClipMeasurement measured;
  AttributeCheck correct;
};

struct ShapesEvalResult {
  std::vector<ShapesEvalSample> samples;
  AttributeAccuracy summary;
};

AttributeAccuracy summarize(const std::vector<ShapesEvalSample>& samples);

// The results.jsonl line of a sample.
nlohmann::ordered_json sample_json(const ShapesEvalSample& sample);

// Runs the evaluation (see above). Generation failures are recorded per sample, not thrown;
// bad settings throw osp::Error before any model is loaded.
ShapesEvalResult run_shapes_eval(const pipeline::ModelBundle& bundle, const pipeline::GenerationParams& params,
                                 const std::vector<ShapesPrompt>& prompts, const ShapesEvalOptions& options);

}  // namespace osp::shapes
