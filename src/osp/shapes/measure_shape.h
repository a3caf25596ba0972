#pragma once
// Measuring which shape the object is (docs/shapes.md "Measuring the shape"): from the object's
// soft coverage (how far each pixel's colour lies from the background towards the object colour),
// two moment ratios that the four shapes of the grammar set apart and that a symmetric blur or
// anti-aliasing barely moves:
//
//   vertical skew  μ03 / μ02^1.5 with y pointing down: the apex-up triangle holds its mass low,
//                  skew −0.57; circle, square and diamond are symmetric, 0;
//   corner score   Σ c (x⁴ − 6x²y² + y⁴) / Σ c (x² + y²)², the fourfold harmonic of the mass
//                  with x and y scaled to equal spread: square −0.43 (mass in the axis-aligned
//                  corners), diamond +0.43 (the same square turned 45°), circle and triangle 0
//                  (no fourfold symmetry).
//
// Measured on every frame whose object is whole (its mask clear of the frame's outer pixels) and
// large enough; the medians over those frames decide.
#include <ATen/ATen.h>

#include <array>
#include <cstdint>
#include <optional>

#include "osp/shapes/grammar.h"

namespace osp::shapes {

struct ShapeMeasureOptions {
  // Coverage below this counts as background and above 1 − this as object, ramping linearly in
  // between: keeps noise on the background out of the moments, and leaves the area of a
  // symmetric anti-aliased or blurred edge unchanged.
  double coverage_floor = 0.15;
  int64_t min_pixels = 12;         // a frame whose object mask holds fewer pixels is not measured
  double min_apex_score = 0.25;    // |vertical skew| from here: a triangle (apex up when negative)
  double min_corner_score = 0.15;  // |corner score| from here: square (negative) or diamond (positive)
};

// Inclusive pixel bounds of a frame's object mask, and its pixel count.
struct PixelBox {
  int64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  int64_t pixels = 0;
};

// One frame's object (see above); area is Σ coverage in pixels.
struct ShapeMoments {
  double area = 0, vertical_skew = 0, corner_score = 0;
};

struct ShapeFit {
  int64_t frames_used = 0;  // frames with a whole object of at least min_pixels mask pixels
  double vertical_skew = 0, corner_score = 0;  // medians over those frames (0 when none)
};

// Float [T, H, W] in [0, 1]: each pixel's position between the background colour (0) and the
// object colour (1) along the line joining them (RGB 0–255), remapped by the coverage floor.
at::Tensor soft_coverage(const at::Tensor& rgb255, const std::array<double, 3>& background,
                         const std::array<double, 3>& object, double coverage_floor);

// The bounds of a bool [H, W] mask; nullopt when it is empty.
std::optional<PixelBox> mask_box(const at::Tensor& mask);

// Whether the box reaches the outermost row or column of an h × w frame (the object may be cut).
bool touches_border(const PixelBox& box, int64_t h, int64_t w);

// The moments of a float [h, w] coverage window (all zero for an empty window).
ShapeMoments shape_moments(const at::Tensor& coverage);

// Per frame: the mask's box grown by 2 pixels (the blurred edge) is the window whose coverage
// moments are taken; frames with a cut or too small object are left out.
ShapeFit fit_shape(const at::Tensor& coverage, const at::Tensor& mask, const ShapeMeasureOptions& options);

// The shape a fit shows: a triangle when the skew is strongly negative, nothing (an apex-down
// triangle is no shape of the grammar) when strongly positive, else square / diamond by the sign
// of a clear corner score, else circle; nullopt without a measured frame.
std::optional<Shape> classify_shape(const ShapeFit& fit, const ShapeMeasureOptions& options);

}  // namespace osp::shapes
