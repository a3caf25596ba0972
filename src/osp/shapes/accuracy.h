#pragma once
// Accuracy of measured Shapes attributes over many clips, and the quality gates on it (the
// --min-* flags of `osp eval shapes` and `osp eval vae`, docs/shapes.md).
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "osp/shapes/measure.h"

namespace osp::shapes {

struct Accuracy {
  int64_t correct = 0, total = 0;
  double percent() const { return total > 0 ? 100.0 * static_cast<double>(correct) / static_cast<double>(total) : 0.0; }
  void add(bool ok) { correct += ok ? 1 : 0, total += 1; }
};

// "12.5%".
std::string percent_text(const Accuracy& accuracy);

// Per attribute; `all` counts the clips with all four right.
struct AttributeAccuracy {
  Accuracy color, shape, background, motion, all;
  void add(const AttributeCheck& check);
};

// The attributes in table order with their display names: object colour, shape, background
// colour, motion, all four.
std::vector<std::pair<std::string, const Accuracy*>> accuracy_rows(const AttributeAccuracy& accuracy);

// Minimum accuracies in percent; unset gates are not checked.
struct AccuracyGates {
  std::optional<double> color, shape, background, motion;
};

// osp::Error naming the flag (--min-color, --min-shape, --min-background, --min-motion) for a gate
// outside [0, 100].
void check_gates(const AccuracyGates& gates);

// "" when every gate holds, else each attribute below its gate, e.g.
// "shape 25.0% < --min-shape 90%; motion 50.0% < --min-motion 80%".
std::string failed_gates(const AttributeAccuracy& accuracy, const AccuracyGates& gates);

}  // namespace osp::shapes
