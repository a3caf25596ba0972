#pragma once
// Measuring a Shapes clip from its pixels (the evaluator, docs/shapes.md): the background colour,
// the object colour, its shape and its motion, read back from frames alone so that a generated or
// VAE-decoded video can be scored against its caption.
//
//   background: the per-channel median of the frame border (all frames), nearest palette colour;
//   object mask: pixels farther than `mask_threshold` (RGB 0–255, Euclidean) from that median —
//                half the palette's 208 margin by default, so a pixel counts when it is more object
//                than background;
//   object:     the per-channel median of the masked pixels, nearest palette colour;
//   shape:      moments of the object's soft coverage on the frames where it is whole
//               (measure_shape.h);
//   motion:     least-squares lines through the per-frame mask centroid and log area: the fitted
//               displacement (in object sizes) against the fitted log area ratio; the larger one
//               names the motion (dominant axis and sign for a translation).
#include <ATen/ATen.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "osp/shapes/grammar.h"
#include "osp/shapes/measure_shape.h"

namespace osp::shapes {

struct MeasureOptions {
  double mask_threshold = 104;       // RGB distance from the background colour: half the palette margin
  int64_t border = 1;                // width of the border ring whose median is the background
  double min_object_fraction = 1e-3; // object pixels / all pixels below this: no object
  int64_t min_frame_pixels = 3;      // a frame with fewer object pixels has no centroid
  double min_motion_score = 0.25;    // neither score reaches this: motion unknown
  ShapeMeasureOptions shape;
};

// The object mask's centroid and area per frame (pixel units, pixel centres at i + ½, x right,
// y down); frames with no object pixel have area 0 and centroid NaN.
struct ObjectTrack {
  std::vector<double> x, y, area;
};

// The least-squares motion of a track over the frames holding at least `min_frame_pixels` pixels.
struct MotionFit {
  int64_t frames_used = 0;    // < 2: nothing fitted, every figure 0 (area_ratio 1)
  double dx = 0, dy = 0;      // fitted centroid displacement from the first to the last frame, pixels
  double area_ratio = 1;      // fitted area at the last frame / at the first (log-linear fit)
  double translation_score = 0;  // |displacement| / √(mean area): distance in object sizes
  double scale_score = 0;        // |ln area_ratio|
};

struct ClipMeasurement {
  std::array<double, 3> background_rgb{};  // border median, RGB 0–255
  Color background = Color::kBlack;
  std::optional<Color> object;             // nullopt: no object found
  std::array<double, 3> object_rgb{};      // median of the object pixels (0 without object)
  std::optional<Shape> shape;              // nullopt: no object, no whole frame, or no shape of the grammar
  ShapeFit shape_fit;
  std::optional<Motion> motion;            // nullopt: no object, or neither score is significant
  double mask_fraction = 0;                // object pixels / all pixels of the clip
  MotionFit fit;
  ObjectTrack track;
};

// Frames [3, T, H, W]: float in [−1, 1] (clamped) or uint8 → float32 RGB 0–255. Throws osp::Error
// naming `what` for another rank or dtype, or a frame smaller than 3 × 3.
at::Tensor frames_to_rgb255(const at::Tensor& frames, const std::string& what = "frames");

// Per-channel median of the pixels within `border` of the frame edge, over every frame.
std::array<double, 3> border_median(const at::Tensor& rgb255, int64_t border);

// Bool [T, H, W]: the pixels farther than `threshold` from `background` (RGB 0–255).
at::Tensor object_mask(const at::Tensor& rgb255, const std::array<double, 3>& background, double threshold);

// Centroid and area of the mask per frame.
ObjectTrack object_track(const at::Tensor& mask);

// The least-squares fit of a track (see MotionFit).
MotionFit fit_motion(const ObjectTrack& track, int64_t min_frame_pixels);

// The motion a fit shows: the larger score names it; nullopt when both are below `min_score`.
std::optional<Motion> classify_motion(const MotionFit& fit, double min_score);

// All of the above for one clip.
ClipMeasurement measure_clip(const at::Tensor& frames, const MeasureOptions& options = {});

// Which attributes a measurement got right (unknown counts as wrong).
struct AttributeCheck {
  bool color = false, shape = false, background = false, motion = false;
  bool all() const { return color && shape && background && motion; }
};
AttributeCheck check_attributes(const ShapeAttributes& expected, const ClipMeasurement& measured);

// "red", "circle", "moving left", … or "unknown".
std::string measured_color_name(const std::optional<Color>& color);
std::string measured_shape_name(const std::optional<Shape>& shape);
std::string measured_motion_name(const std::optional<Motion>& motion);

}  // namespace osp::shapes
