#include "osp/shapes/report.h"

#include <fmt/format.h>

#include "osp/core/text_table.h"

namespace osp::shapes {

nlohmann::ordered_json attributes_json(const ShapeAttributes& a) {
  return {{"shape", shape_name(a.shape)},
          {"color", color_name(a.color)},
          {"background", color_name(a.background)},
          {"motion", motion_name(a.motion)}};
}

nlohmann::ordered_json measured_json(const ClipMeasurement& m) {
  return {{"shape", measured_shape_name(m.shape)},
          {"color", measured_color_name(m.object)},
          {"background", color_name(m.background)},
          {"motion", measured_motion_name(m.motion)}};
}

nlohmann::ordered_json correct_json(const AttributeCheck& c) {
  return {{"color", c.color}, {"shape", c.shape}, {"background", c.background}, {"motion", c.motion}};
}

nlohmann::ordered_json confidence_json(const ClipMeasurement& m) {
  return {{"mask_fraction", m.mask_fraction},
          {"object_rgb", m.object_rgb},
          {"background_rgb", m.background_rgb},
          {"frames_with_object", m.fit.frames_used},
          {"dx_pixels", m.fit.dx},
          {"dy_pixels", m.fit.dy},
          {"area_ratio", m.fit.area_ratio},
          {"translation_score", m.fit.translation_score},
          {"scale_score", m.fit.scale_score},
          {"shape_frames", m.shape_fit.frames_used},
          {"vertical_skew", m.shape_fit.vertical_skew},
          {"corner_score", m.shape_fit.corner_score}};
}

nlohmann::ordered_json measure_options_json(const MeasureOptions& o) {
  return {{"mask_threshold", o.mask_threshold},
          {"border", o.border},
          {"min_object_fraction", o.min_object_fraction},
          {"min_frame_pixels", o.min_frame_pixels},
          {"min_motion_score", o.min_motion_score},
          {"coverage_floor", o.shape.coverage_floor},
          {"min_shape_pixels", o.shape.min_pixels},
          {"min_apex_score", o.shape.min_apex_score},
          {"min_corner_score", o.shape.min_corner_score}};
}

nlohmann::ordered_json accuracy_json(const Accuracy& a) {
  return {{"correct", a.correct}, {"total", a.total}, {"accuracy", a.total > 0 ? a.percent() / 100.0 : 0.0}};
}

void add_accuracy_json(nlohmann::ordered_json& summary, const AttributeAccuracy& a) {
  summary["object_color"] = accuracy_json(a.color);
  summary["shape"] = accuracy_json(a.shape);
  summary["background_color"] = accuracy_json(a.background);
  summary["motion"] = accuracy_json(a.motion);
  summary["all_four"] = accuracy_json(a.all);
}

std::string describe_measurement(const ClipMeasurement& m) {
  return fmt::format("object {} {} on {} background, {} (mask {:.3f}, move {:.1f},{:.1f} px, area x{:.2f}, "
                     "skew {:.2f}, corners {:.2f} over {} frames)",
                     measured_color_name(m.object), measured_shape_name(m.shape), color_name(m.background),
                     measured_motion_name(m.motion), m.mask_fraction, m.fit.dx, m.fit.dy, m.fit.area_ratio,
                     m.shape_fit.vertical_skew, m.shape_fit.corner_score, m.shape_fit.frames_used);
}

void print_accuracy_table(const AttributeAccuracy& accuracy) {
  TextTable table({"attribute", "correct", "total", "accuracy"});
  for (const auto& [name, a] : accuracy_rows(accuracy)) {
    table.add_row({name, std::to_string(a->correct), std::to_string(a->total), percent_text(*a)});
  }
  table.print();
}

}  // namespace osp::shapes
