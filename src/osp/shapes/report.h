#pragma once
// The written forms of Shapes measurements and accuracies, shared by `osp eval shapes` and
// `osp eval vae` (docs/shapes.md): the fields of a results.jsonl line, the accuracy block of
// summary.json, and the accuracy table printed to stdout.
#include <nlohmann/json.hpp>

#include <string>

#include "osp/shapes/accuracy.h"
#include "osp/shapes/measure.h"

namespace osp::shapes {

// {"shape", "color", "background", "motion"} of a caption.
nlohmann::ordered_json attributes_json(const ShapeAttributes& attributes);
// The same keys as measured ("unknown" where nothing was found).
nlohmann::ordered_json measured_json(const ClipMeasurement& measured);
// {"color", "shape", "background", "motion"}: whether each was measured right.
nlohmann::ordered_json correct_json(const AttributeCheck& correct);
// The figures behind the verdicts: mask fraction, colours, motion fit, shape moments.
nlohmann::ordered_json confidence_json(const ClipMeasurement& measured);
// The settings of the measurement.
nlohmann::ordered_json measure_options_json(const MeasureOptions& options);

// {"correct", "total", "accuracy" (a fraction)}.
nlohmann::ordered_json accuracy_json(const Accuracy& accuracy);
// Sets "object_color", "shape", "background_color", "motion" and "all_four" of `summary`.
void add_accuracy_json(nlohmann::ordered_json& summary, const AttributeAccuracy& accuracy);

// "object red circle on black background, moving left (mask 0.031, move 23.0,0.0 px, area x1.00,
// skew -0.01, corners 0.02)": one line for logs and test messages.
std::string describe_measurement(const ClipMeasurement& measured);

// The table of one accuracy to stdout: attribute | correct | total | accuracy, one row per
// attribute and one for all four.
void print_accuracy_table(const AttributeAccuracy& accuracy);

}  // namespace osp::shapes
