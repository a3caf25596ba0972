#include "osp/shapes/accuracy.h"

#include <fmt/format.h>

#include "osp/core/error.h"

namespace osp::shapes {
namespace {

struct Gate {
  const std::optional<double>* min;
  const Accuracy* accuracy;
  const char* flag;
  const char* name;
};

// One list for checking and applying: each gate with its flag and display name.
std::vector<Gate> gate_list(const AccuracyGates& g, const AttributeAccuracy& a) {
  return {{&g.color, &a.color, "--min-color", "object colour"},
          {&g.shape, &a.shape, "--min-shape", "shape"},
          {&g.background, &a.background, "--min-background", "background colour"},
          {&g.motion, &a.motion, "--min-motion", "motion"}};
}

}  // namespace

std::string percent_text(const Accuracy& a) { return fmt::format("{:.1f}%", a.percent()); }

void AttributeAccuracy::add(const AttributeCheck& check) {
  color.add(check.color);
  shape.add(check.shape);
  background.add(check.background);
  motion.add(check.motion);
  all.add(check.all());
}

std::vector<std::pair<std::string, const Accuracy*>> accuracy_rows(const AttributeAccuracy& a) {
  return {{"object colour", &a.color},
          {"shape", &a.shape},
          {"background colour", &a.background},
          {"motion", &a.motion},
          {"all four", &a.all}};
}

void check_gates(const AccuracyGates& gates) {
  const AttributeAccuracy unused;  // only the gate values are looked at
  for (const Gate& g : gate_list(gates, unused)) {
    if (*g.min && !(**g.min >= 0 && **g.min <= 100)) fail_about(g.flag, "is a percentage in [0, 100], got {}", **g.min);
  }
}

std::string failed_gates(const AttributeAccuracy& accuracy, const AccuracyGates& gates) {
  std::string below;
  for (const Gate& g : gate_list(gates, accuracy)) {
    if (!*g.min || g.accuracy->percent() >= **g.min) continue;
    below += fmt::format("{}{} {} < {} {}%", below.empty() ? "" : "; ", g.name, percent_text(*g.accuracy), g.flag, **g.min);
  }
  return below;
}

}  // namespace osp::shapes
